package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for servers, taken from below the kernel's ephemeral range: a client that
 * keeps reconnecting to a killed server on an ephemeral port can be handed that very port as its
 * own local port and connect to itself, which then blocks the server's restart. No port is handed
 * out twice by one JVM.
 */
final class Ports {
  private static final Set<Integer> handedOut = new HashSet<>();

  private Ports() {}

  /** A port nothing listens on right now, below the ephemeral range when there is room for it. */
  static synchronized int free() {
    int ephemeralLow = ephemeralRangeStart();
    int low = 10_000;
    if (ephemeralLow - low >= 2_000) {
      for (int attempt = 0; attempt < 200; attempt++) {
        int port = ThreadLocalRandom.current().nextInt(low, ephemeralLow);
        if (!handedOut.contains(port) && isFree(port)) {
          handedOut.add(port);
          return port;
        }
      }
    }
    // No room below the ephemeral range: let the kernel choose.
    for (int attempt = 0; attempt < 50; attempt++) {
      try (ServerSocket socket = new ServerSocket(0, 1, TestServer.loopback())) {
        int port = socket.getLocalPort();
        if (handedOut.add(port)) {
          return port;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("no free loopback port", e);
      }
    }
    throw new IllegalStateException("no free loopback port after 250 attempts");
  }

  private static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(TestServer.loopback(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int ephemeralRangeStart() {
    try {
      String range =
          Files.readString(
              Path.of("/proc/sys/net/ipv4/ip_local_port_range"), StandardCharsets.UTF_8);
      return Integer.parseInt(range.trim().split("\\s+", -1)[0]);
    } catch (IOException | RuntimeException e) {
      return 32_768;
    }
  }
}
