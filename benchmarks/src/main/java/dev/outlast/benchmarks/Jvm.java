package dev.outlast.benchmarks;

/**
 * JVM flags every forked benchmark JVM gets (JMH annotations need constants, so each benchmark
 * class lists them): what Chronicle Queue needs on JDK 17+, and its analytics off.
 */
final class Jvm {
  static final String XMS = "-Xms1g";
  static final String XMX = "-Xmx1g";
  static final String E1 = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
  static final String E2 = "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED";
  static final String E3 = "--add-exports=java.base/jdk.internal.util=ALL-UNNAMED";
  static final String E4 = "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED";
  static final String E5 = "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED";
  static final String O1 = "--add-opens=java.base/java.io=ALL-UNNAMED";
  static final String O2 = "--add-opens=java.base/java.lang=ALL-UNNAMED";
  static final String O3 = "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED";
  static final String O4 = "--add-opens=java.base/java.util=ALL-UNNAMED";
  static final String O5 = "--add-opens=java.base/java.nio=ALL-UNNAMED";
  static final String ANALYTICS = "-Dchronicle.analytics.disable=true";
  static final String QUIET = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";

  private Jvm() {}
}
