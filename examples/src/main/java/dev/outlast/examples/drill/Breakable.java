package dev.outlast.examples.drill;

import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.TestServer;
import org.jspecify.annotations.Nullable;

/**
 * A dependency the drill breaks. The service always reaches it through a fault proxy; a server the
 * drill started itself is killed and frozen for real, a user's own server is cut off at the proxy
 * instead (refused for "killed", a blackhole for "frozen"), since the drill must not stop it.
 */
final class Breakable implements AutoCloseable {
  final String name;
  final @Nullable TestServer server;
  final FaultProxy proxy;

  Breakable(String name, @Nullable TestServer server, FaultProxy proxy) {
    this.name = name;
    this.server = server;
    this.proxy = proxy;
  }

  void kill() {
    if (server != null) {
      server.kill();
    } else {
      proxy.refuse();
      proxy.cutConnections();
    }
  }

  void freeze() {
    if (server != null) {
      server.freeze();
    } else {
      proxy.blackhole();
    }
  }

  /** Up again, whatever was done to it. */
  void restore() {
    if (server != null) {
      switch (server.state()) {
        case FROZEN -> server.thaw();
        case STOPPED -> server.start();
        default -> {}
      }
    }
    proxy.pass();
  }

  String how() {
    return server != null ? "started by the drill" : "yours, broken at a proxy";
  }

  @Override
  public void close() {
    proxy.close();
    if (server != null) {
      server.close();
    }
  }
}
