package dev.outlast.examples.drill;

import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.TestServer;
import org.jspecify.annotations.Nullable;

/**
 * A dependency the drill breaks. The service always reaches it through a fault proxy; a server the
 * drill started itself is killed and frozen for real, a user's own server is cut off at the proxy
 * instead (refused for "killed", a blackhole for "frozen"), since the drill must not stop it. The
 * verbs say which was done, for the phase labels on the terminal and in the report.
 */
final class Breakable implements AutoCloseable {
  final String name;
  final String label;
  final @Nullable TestServer server;
  final FaultProxy proxy;

  /**
   * @param name the guard's name: "mysql"
   * @param label the dependency as a reader names it: "MySQL"
   * @param server the server, if the drill started it; null for the user's own
   */
  Breakable(String name, String label, @Nullable TestServer server, FaultProxy proxy) {
    this.name = name;
    this.label = label;
    this.server = server;
    this.proxy = proxy;
  }

  /** Whether it is the user's server, which the drill only cuts off at the proxy. */
  boolean isUsers() {
    return server == null;
  }

  void kill() {
    if (server != null) {
      server.kill();
    } else {
      proxy.refuse();
      proxy.cutConnections();
    }
  }

  /** What {@link #kill()} does. */
  String killed() {
    return server != null
        ? "killed (SIGKILL)"
        : "refused at the proxy, open connections cut (server untouched)";
  }

  void freeze() {
    if (server != null) {
      server.freeze();
    } else {
      proxy.blackhole();
    }
  }

  /** What {@link #freeze()} does. */
  String frozen() {
    return server != null ? "frozen (SIGSTOP)" : "blackholed at the proxy (server untouched)";
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

  /** What {@link #restore()} will do, now, as it is under way: "back" waits for an answer. */
  String restoring() {
    if (server == null) {
      return "let through at the proxy again";
    }
    return switch (server.state()) {
      case FROZEN -> "thawing";
      case STOPPED -> "restarting";
      default -> "up";
    };
  }

  String how() {
    return server != null
        ? "started by the drill (killed and frozen for real)"
        : "yours, cut off at a proxy (never stopped)";
  }

  @Override
  public void close() {
    proxy.close();
    if (server != null) {
      server.close();
    }
  }
}
