package dev.outlast.testkit;

import java.nio.file.Path;
import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Runs a single OpenSearch node in this JVM. Started by {@link OpenSearchServer} in a child JVM;
 * the node keeps its data under the given base path, so it survives a restart.
 *
 * <p>Arguments: base path, HTTP port, transport port.
 */
final class OpenSearchMain {
  private OpenSearchMain() {}

  public static void main(String[] args) {
    try {
      ChildMain.exitWithParent();
      String basePath = Path.of(args[0]).toAbsolutePath().toString();
      String httpPort = args[1];
      String transportPort = args[2];
      OpenSearchRunner runner = new OpenSearchRunner();
      // The runner otherwise probes ports 9201-9299 and refuses ports above them.
      runner.setMaxHttpPort(-1);
      runner.onBuild(
          (index, settings) -> {
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("network.host", TestServer.LOOPBACK);
            settings.put("discovery.type", "single-node");
            // The runner makes its nodes cluster managers and data nodes only; a stand-alone
            // OpenSearch node also runs ingest pipelines, and services rely on them.
            settings.putList("node.roles", "cluster_manager", "data", "ingest");
            // A nearly full test disk must not turn indices read-only.
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("indices.breaker.total.use_real_memory", "false");
          });
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      runner.close();
                    } catch (java.io.IOException e) {
                      e.printStackTrace(System.err);
                    }
                  },
                  "outlast-opensearch-shutdown"));
      runner.build(
          OpenSearchRunner.newConfigs().basePath(basePath).numOfNode(1).clusterName("outlast"));
      runner.ensureYellow();
      ChildMain.announceReadyAndWait("http://" + TestServer.LOOPBACK + ":" + httpPort);
    } catch (Throwable e) {
      ChildMain.fail(e);
    }
  }
}
