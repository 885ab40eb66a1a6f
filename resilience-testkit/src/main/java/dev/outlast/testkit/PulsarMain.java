package dev.outlast.testkit;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.pulsar.PulsarStandalone;
import org.apache.pulsar.broker.ServiceConfiguration;
import org.apache.pulsar.common.configuration.PulsarConfigurationLoader;

/**
 * Runs a Pulsar standalone broker with one bookie in this JVM. Started by {@link PulsarServer} in a
 * child JVM whose working directory is the server's directory: the standalone keeps its metadata
 * (RocksDB) and bookie data under {@code data/}, relative to it, so they survive a restart.
 *
 * <p>Arguments: broker port, web port, bookie port, deduplication ({@code true}/{@code false}), and
 * the port of a fault proxy to advertise as a second listener (0 for none).
 */
final class PulsarMain {
  private PulsarMain() {}

  public static void main(String[] args) {
    try {
      ChildMain.exitWithParent();
      Properties props = new Properties();
      props.setProperty("clusterName", "standalone");
      props.setProperty("brokerServicePort", args[0]);
      props.setProperty("webServicePort", args[1]);
      props.setProperty("bindAddress", TestServer.LOOPBACK);
      props.setProperty("advertisedAddress", TestServer.LOOPBACK);
      int proxyPort = args.length > 4 ? Integer.parseInt(args[4]) : 0;
      if (proxyPort > 0) {
        // A second listener at the test's fault proxy; the broker talks to itself on "internal".
        props.setProperty(
            "advertisedListeners",
            "internal:pulsar://"
                + TestServer.LOOPBACK
                + ":"
                + args[0]
                + ","
                + PulsarServer.PROXIED_LISTENER
                + ":pulsar://"
                + TestServer.LOOPBACK
                + ":"
                + proxyPort);
        props.setProperty("internalListenerName", "internal");
      }
      // One bookie: quorums above 1 would make every write wait forever.
      props.setProperty("managedLedgerDefaultEnsembleSize", "1");
      props.setProperty("managedLedgerDefaultWriteQuorum", "1");
      props.setProperty("managedLedgerDefaultAckQuorum", "1");
      props.setProperty("brokerDeduplicationEnabled", args[3]);
      props.setProperty(
          "loadManagerClassName", "org.apache.pulsar.broker.loadbalance.NoopLoadManager");
      props.setProperty("loadBalancerEnabled", "false");
      props.setProperty("brokerShutdownTimeoutMs", "3000");
      props.setProperty("brokerDeleteInactiveTopicsEnabled", "false");
      props.setProperty("functionsWorkerEnabled", "false");
      props.setProperty("managedLedgerCacheSizeMB", "16");
      // Read by the bookie from the same file: keep its port fixed across restarts (BookKeeper
      // ignores the requested port unless ephemeral ports are allowed) and its identity on
      // loopback.
      props.setProperty("allowEphemeralPorts", "true");
      props.setProperty("allowLoopback", "true");
      props.setProperty("listeningInterface", "lo");
      // The journal is still written before each ack; only the fsync is skipped. A test that kills
      // the broker with SIGKILL loses nothing (the page cache survives); a power loss is not
      // tested.
      props.setProperty("journalSyncData", "false");
      props.setProperty("dbStorage_writeCacheMaxSizeMb", "16");
      props.setProperty("dbStorage_readAheadCacheMaxSizeMb", "16");

      Path conf = Path.of("standalone.conf").toAbsolutePath();
      try (OutputStream out = Files.newOutputStream(conf)) {
        props.store(out, "written by the Outlast test kit");
      }
      ServiceConfiguration config =
          PulsarConfigurationLoader.create(props, ServiceConfiguration.class);

      PulsarStandalone standalone = new PulsarStandalone();
      standalone.setConfig(config);
      standalone.setConfigFile(conf.toString());
      standalone.setWipeData(false);
      standalone.setNumOfBk(1);
      standalone.setBkPort(Integer.parseInt(args[2]));
      standalone.setNoFunctionsWorker(true);
      standalone.setNoStreamStorage(true);
      Runtime.getRuntime()
          .addShutdownHook(new Thread(standalone::close, "outlast-pulsar-shutdown"));
      standalone.start();
      ChildMain.announceReadyAndWait(standalone.getBrokerServiceUrl());
    } catch (Throwable e) {
      ChildMain.fail(e);
    }
  }
}
