package dev.outlast.buffer;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Child-JVM main for {@link JvmFlagsTest}: builds a spill queue in a JVM started without the flags
 * Chronicle needs and prints what happened, one line each: {@code REFUSED <message>} (newlines as
 * {@code |}) or {@code BUILT}, then {@code DIRECTORY_EXISTS <true|false>}.
 */
final class NoFlagsProbe {
  private NoFlagsProbe() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    try (SpillQueue<String> q =
        SpillQueue.<String>builder("flags")
            .directory(dir)
            .codec(Codec.utf8())
            .sink(batch -> CompletableFuture.completedFuture(List.of()))
            .guard(Guard.ofDefaults("sink"))
            .build()) {
      System.out.println("BUILT " + q);
    } catch (IllegalStateException e) {
      System.out.println("REFUSED " + String.valueOf(e.getMessage()).replace('\n', '|'));
    }
    System.out.println("DIRECTORY_EXISTS " + Files.exists(dir));
  }
}
