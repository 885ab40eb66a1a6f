package dev.outlast.spring;

import dev.outlast.buffer.FullPolicy;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKey;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.util.unit.DataSize;

/**
 * Makes the spill queue of {@code outlast.queue.<name>.*}, with its sink. Loaded only when
 * resilience-buffer is on the class path. Stateless.
 */
final class Queues {

  private Queues() {}

  /** The type of the queue beans. */
  static Class<?> queueType() {
    return SpillQueue.class;
  }

  /**
   * Builds the queue; what the starter made for it (a sink, a Pulsar client) is added to {@code
   * owned}, to close after the queue, and the guard of its own, if it has one, to {@code
   * ownGuards}, for its meters.
   */
  @SuppressWarnings({"unchecked", "rawtypes"}) // the codec and the sink agree on the event type
  static SpillQueue<?> build(
      String name,
      OutlastProperties.QueueProperties p,
      Map<String, Guard> guards,
      ListableBeanFactory beans,
      List<AutoCloseable> owned,
      List<Guard> ownGuards) {
    QueueSettings.check(name, p, Queues.class.getClassLoader());
    String at = "outlast.queue." + name + ".";
    Guard guard = guard(name, p, guards);
    if (!guards.containsValue(guard)) {
      ownGuards.add(guard);
    }
    Codec<?> codec = codec(name, p, beans);
    Sink<?> sink = sink(name, p, codec, beans, owned);
    SpillQueue.Builder<Object> b =
        SpillQueue.builder(name)
            .directory(Path.of(String.valueOf(p.getDirectory())))
            .codec((Codec) codec)
            .sink((Sink) sink)
            .guard(guard)
            .mode(
                p.getMode() == OutlastProperties.QueueMode.SPILL_ON_FAILURE
                    ? SpillQueue.Mode.SPILL_ON_FAILURE
                    : SpillQueue.Mode.WRITE_AHEAD)
            .durability(
                p.getDurability() == OutlastProperties.QueueDurability.POWER_LOSS
                    ? SpillQueue.Durability.POWER_LOSS
                    : SpillQueue.Durability.PROCESS_CRASH);
    try {
      b.whenFull(
          p.getWhenFull() == OutlastProperties.WhenFull.FAIL
              ? FullPolicy.fail()
              : FullPolicy.block(p.getFullWait()));
      DataSize max = p.getMaxDiskBytes();
      if (max != null) {
        b.maxDiskBytes(max.toBytes());
      }
      DataSize free = p.getMinFreeDiskBytes();
      if (free != null) {
        b.minFreeDiskBytes(free.toBytes());
      }
      DataSize event = p.getMaxEventBytes();
      if (event != null) {
        b.maxEventBytes((int) Math.min(Integer.MAX_VALUE, event.toBytes()));
      }
      DataSize segment = p.getSegmentBytes();
      if (segment != null) {
        b.segmentBytes(segment.toBytes());
      }
      Integer batch = p.getBatchSize();
      if (batch != null) {
        b.batchSize(batch);
      }
      Double rate = p.getDrainRate();
      if (rate != null) {
        b.drainRate(rate);
      }
      if (p.getRetryBackoff() != null || p.getMaxRetryBackoff() != null) {
        java.time.Duration first =
            p.getRetryBackoff() != null ? p.getRetryBackoff() : java.time.Duration.ofMillis(200);
        java.time.Duration most =
            p.getMaxRetryBackoff() != null
                ? p.getMaxRetryBackoff()
                : java.time.Duration.ofSeconds(30);
        b.retryBackoff(first, most);
      }
      String producer = p.getProducerId();
      if (producer != null) {
        b.producerId(producer);
      }
      String key = p.getEncryptionKey();
      if (key != null) {
        b.encryption(Guards.bean(beans, key, SecretKey.class, at + "encryption-key"));
      }
      return b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new OutlastConfigurationException(
          "the queue outlast.queue." + name + " cannot be built: " + e.getMessage(),
          "change its settings as the message says",
          e);
    } catch (java.io.UncheckedIOException e) {
      throw new OutlastConfigurationException(
          "the queue outlast.queue."
              + name
              + " cannot use its directory "
              + p.getDirectory()
              + ": "
              + e.getMessage(),
          "give it a directory this process can own alone (created with mode 0700 if missing)",
          e);
    }
  }

  private static Guard guard(
      String name, OutlastProperties.QueueProperties p, Map<String, Guard> guards) {
    String g = p.getGuard();
    if (g == null) {
      // The queue's own: its health carries the guard's state.
      return Guard.of(name, GuardConfig.broker());
    }
    Guard found = guards.get(g);
    if (found == null) {
      throw new OutlastConfigurationException(
          "outlast.queue."
              + name
              + ".guard names the guard '"
              + g
              + "', and there is none; the"
              + " guards are "
              + guards.keySet(),
          "declare it (outlast.guard."
              + g
              + ".preset=broker), or leave the property out for a"
              + " guard of the queue's own");
    }
    return found;
  }

  private static Codec<?> codec(
      String name, OutlastProperties.QueueProperties p, ListableBeanFactory beans) {
    String c = p.getCodec();
    if (c != null) {
      return Guards.bean(beans, c, Codec.class, "outlast.queue." + name + ".codec");
    }
    String[] all = beans.getBeanNamesForType(Codec.class, false, false);
    if (all.length != 1) {
      throw new OutlastConfigurationException(
          "outlast.queue."
              + name
              + ".codec is not set, and there "
              + (all.length == 0 ? "is no Codec bean" : "are several: " + Arrays.toString(all)),
          "declare a dev.outlast.core.spi.Codec bean for the events, and name it in outlast.queue."
              + name
              + ".codec");
    }
    return beans.getBean(all[0], Codec.class);
  }

  private static Sink<?> sink(
      String name,
      OutlastProperties.QueueProperties p,
      Codec<?> codec,
      ListableBeanFactory beans,
      List<AutoCloseable> owned) {
    String s = String.valueOf(p.getSink());
    if (s.equals(QueueSettings.ELASTICSEARCH)) {
      return ElasticsearchSinks.build(name, p.getElasticsearch());
    }
    if (s.equals(QueueSettings.PULSAR)) {
      return PulsarSinks.build(name, p.getPulsar(), codec, beans, owned);
    }
    return Guards.bean(beans, s, Sink.class, "outlast.queue." + name + ".sink");
  }
}
