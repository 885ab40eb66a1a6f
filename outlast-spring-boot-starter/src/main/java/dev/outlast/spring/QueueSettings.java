package dev.outlast.spring;

import org.springframework.util.ClassUtils;

/**
 * Checks of {@code outlast.queue.<name>.*} that need no class of the optional modules, so that a
 * missing module is reported rather than a class not found. Stateless.
 */
final class QueueSettings {
  static final String ELASTICSEARCH = "elasticsearch";
  static final String PULSAR = "pulsar";

  private QueueSettings() {}

  /** Fails because resilience-buffer is missing; without loading any of its classes. */
  static void needBuffer(String what, ClassLoader loader) {
    needModule(what, "resilience-buffer", "dev.outlast.buffer.SpillQueue", loader);
  }

  /** Checks what can be checked before any bean exists: the required settings and modules. */
  static void check(String name, OutlastProperties.QueueProperties p, ClassLoader loader) {
    String at = "outlast.queue." + name;
    if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new OutlastConfigurationException(
          at + ": the queue name '" + name + "' is not 1-64 letters, digits, '.', '_' or '-'",
          "rename the queue");
    }
    if (p.getDirectory() == null) {
      throw new OutlastConfigurationException(
          at + ".directory is not set: a queue keeps its events on local disk",
          "set " + at + ".directory to a directory of its own, e.g. /var/lib/app/" + name);
    }
    String sink = p.getSink();
    if (sink == null || sink.isBlank()) {
      throw new OutlastConfigurationException(
          at + ".sink is not set: the queue has nowhere to deliver its events",
          "set "
              + at
              + ".sink to elasticsearch, pulsar (with "
              + at
              + ".elasticsearch.* or .pulsar.*), or the name of a Sink bean");
    }
    if (sink.equals(ELASTICSEARCH)) {
      needModule(
          at,
          "resilience-sink-elasticsearch",
          "dev.outlast.sink.elasticsearch.ElasticsearchSink",
          loader);
    } else if (sink.equals(PULSAR)) {
      needModule(at, "resilience-sink-pulsar", "dev.outlast.sink.pulsar.PulsarSink", loader);
    }
  }

  static void needModule(String what, String module, String type, ClassLoader loader) {
    if (!ClassUtils.isPresent(type, loader)) {
      throw new OutlastConfigurationException(
          what + " needs the module " + module + ", which is not on the class path",
          "add the dependency dev.outlast:"
              + module
              + " (Maven: <groupId>dev.outlast</groupId><artifactId>"
              + module
              + "</artifactId>)");
    }
  }
}
