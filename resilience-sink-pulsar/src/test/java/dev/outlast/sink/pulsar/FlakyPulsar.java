package dev.outlast.sink.pulsar;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.ProducerBuilder;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.TypedMessageBuilder;
import org.jspecify.annotations.Nullable;

/**
 * A Pulsar client and one deduplicating broker topic in memory, with the failures of the real
 * client, at random: a send refused at once (its memory limit, its pending queue), a connection
 * that stalls and later reconnects and resends what was pending (in order), a stored message whose
 * answer is lost in such a stall, and, when a producer has a send timeout, the real client's way of
 * honouring it: every pending send failed at once, the producer left open for later sends.
 *
 * <p>The broker keeps Pulsar's deduplication rule: a sequence id not above the highest stored one
 * of the producer name is dropped (and acknowledged). A new producer is told that highest id. So an
 * event that a producer fails while a later one is stored can never be stored afterwards: the test
 * sees the gap. Pure logic for the sink's bookkeeping; the real broker's outages are in {@link
 * PulsarSinkOutageTest}.
 */
final class FlakyPulsar implements AutoCloseable {
  private final double refusedAtOnce;
  private final double stalls;
  private final double answersLost;
  private final long stallMinMillis;
  private final long stallMaxMillis;

  private final ScheduledExecutorService io =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "flaky-pulsar-io");
            t.setDaemon(true);
            return t;
          });

  // Guarded by this: the topic as stored, the highest sequence id, the open producer's name.
  private final List<Long> stored = new ArrayList<>();
  private long highest = -1;
  private @Nullable FakeProducer open;
  private final AtomicInteger producersMade = new AtomicInteger();
  private final AtomicInteger clientTimeouts = new AtomicInteger();
  private final AtomicInteger sendsTaken = new AtomicInteger();
  private volatile boolean hangNext;
  private volatile @Nullable Throwable refuseNextCreate;
  private final java.util.Set<Long> refusedForGood =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  FlakyPulsar(double refusedAtOnce, double stalls, double answersLost) {
    this(refusedAtOnce, stalls, answersLost, 20, 300);
  }

  /**
   * @param stallMinMillis the shortest a stalled connection stays stalled
   * @param stallMaxMillis the longest (exclusive)
   */
  FlakyPulsar(
      double refusedAtOnce,
      double stalls,
      double answersLost,
      long stallMinMillis,
      long stallMaxMillis) {
    this.refusedAtOnce = refusedAtOnce;
    this.stalls = stalls;
    this.answersLost = answersLost;
    this.stallMinMillis = stallMinMillis;
    this.stallMaxMillis = stallMaxMillis;
  }

  /** {@return the sequence ids stored in the topic, in order} */
  synchronized List<Long> stored() {
    return List.copyOf(stored);
  }

  /** The next producer asked for fails to be made, with this. */
  void refuseNextCreate(Throwable why) {
    refuseNextCreate = why;
  }

  /** The broker refuses this sequence id for good, as it does a message it will never take. */
  void refuseForGood(long sequence) {
    refusedForGood.add(sequence);
  }

  /** The next send the broker takes hangs its connection for good: no store, no answer. */
  void hangNextSend() {
    hangNext = true;
  }

  /** {@return how many sends producers have taken (not refused at once)} */
  int sendsTaken() {
    return sendsTaken.get();
  }

  int producersMade() {
    return producersMade.get();
  }

  /** {@return how often a producer's own send timeout failed its pending sends} */
  int clientTimeouts() {
    return clientTimeouts.get();
  }

  PulsarClient client() {
    return proxy(
        PulsarClient.class,
        (self, m, args) ->
            switch (m.getName()) {
              case "newProducer" -> new BuilderState().proxy();
              case "close", "shutdown" -> null;
              case "closeAsync" -> CompletableFuture.completedFuture(null);
              default -> basics(self, m, args, "client");
            });
  }

  @Override
  public void close() {
    io.shutdownNow();
  }

  private synchronized void store(long sequence) {
    if (sequence > highest) {
      stored.add(sequence);
      highest = sequence;
    }
  }

  private static boolean chance(double p) {
    return p > 0 && ThreadLocalRandom.current().nextDouble() < p;
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, InvocationHandler h) {
    return (T) Proxy.newProxyInstance(FlakyPulsar.class.getClassLoader(), new Class<?>[] {type}, h);
  }

  private static Object basics(Object self, Method m, Object @Nullable [] args, String what) {
    return switch (m.getName()) {
      case "toString" -> what;
      case "hashCode" -> System.identityHashCode(self);
      case "equals" -> args != null && self == args[0];
      default -> throw new UnsupportedOperationException(what + "." + m.getName());
    };
  }

  /** What a producer builder was told. */
  private final class BuilderState {
    String name = "";
    long sendTimeoutMillis = 30_000;
    int maxPending = 1_000;

    ProducerBuilder<?> proxy() {
      ProducerBuilder<?>[] self = new ProducerBuilder<?>[1];
      self[0] =
          FlakyPulsar.proxy(
              ProducerBuilder.class,
              (p, m, args) -> {
                switch (m.getName()) {
                  case "producerName" -> name = (String) args[0];
                  case "sendTimeout" ->
                      sendTimeoutMillis = ((TimeUnit) args[1]).toMillis((Integer) args[0]);
                  case "maxPendingMessages" -> maxPending = (Integer) args[0];
                  case "createAsync" -> {
                    return create();
                  }
                  default -> {
                    if (m.getReturnType() != ProducerBuilder.class) {
                      return basics(p, m, args, "producer builder");
                    }
                  }
                }
                return self[0];
              });
      return self[0];
    }

    CompletableFuture<Producer<?>> create() {
      CompletableFuture<Producer<?>> made = new CompletableFuture<>();
      io.execute(
          () -> {
            Throwable refused = refuseNextCreate;
            if (refused != null) {
              refuseNextCreate = null;
              made.completeExceptionally(refused);
              return;
            }
            FakeProducer p;
            synchronized (FlakyPulsar.this) {
              if (open != null) {
                made.completeExceptionally(
                    new PulsarClientException.ProducerBusyException(
                        "producer " + name + " is already connected"));
                return;
              }
              p = new FakeProducer(name, sendTimeoutMillis, maxPending, highest);
              open = p;
            }
            producersMade.incrementAndGet();
            made.complete(p.proxy());
          });
      return made;
    }
  }

  private record Pending(long sequence, CompletableFuture<MessageId> answer, long at) {}

  /** One producer: its pending sends, in order, and its connection, which may stall. */
  private final class FakeProducer {
    final String name;
    final long sendTimeoutMillis;
    final int maxPending;
    // Guarded by this.
    final ArrayDeque<Pending> pending = new ArrayDeque<>();
    boolean stalled;
    boolean closed;
    long lastAnswered;

    FakeProducer(String name, long sendTimeoutMillis, int maxPending, long lastStored) {
      this.name = name;
      this.sendTimeoutMillis = sendTimeoutMillis;
      this.maxPending = maxPending;
      this.lastAnswered = lastStored;
      if (sendTimeoutMillis > 0) {
        var unused = io.schedule(this::timeOut, 10, TimeUnit.MILLISECONDS);
      }
    }

    Producer<?> proxy() {
      return FlakyPulsar.proxy(
          Producer.class,
          (self, m, args) ->
              switch (m.getName()) {
                case "newMessage" -> message();
                case "getLastSequenceId" -> lastSequenceId();
                case "getProducerName" -> name;
                case "getTopic" -> "flaky";
                case "isConnected" -> !isStalled();
                case "closeAsync" -> {
                  closeNow();
                  yield CompletableFuture.completedFuture(null);
                }
                case "close" -> {
                  closeNow();
                  yield null;
                }
                default -> basics(self, m, args, "producer " + name);
              });
    }

    private synchronized long lastSequenceId() {
      return lastAnswered;
    }

    private synchronized boolean isStalled() {
      return stalled;
    }

    TypedMessageBuilder<?> message() {
      long[] sequence = {-1};
      TypedMessageBuilder<?>[] self = new TypedMessageBuilder<?>[1];
      self[0] =
          FlakyPulsar.proxy(
              TypedMessageBuilder.class,
              (p, m, args) -> {
                switch (m.getName()) {
                  case "sequenceId" -> sequence[0] = (Long) args[0];
                  case "sendAsync" -> {
                    return send(sequence[0]);
                  }
                  default -> {
                    if (m.getReturnType() != TypedMessageBuilder.class) {
                      return basics(p, m, args, "message");
                    }
                  }
                }
                return self[0];
              });
      return self[0];
    }

    CompletableFuture<MessageId> send(long sequence) {
      synchronized (this) {
        if (closed) {
          return CompletableFuture.failedFuture(
              new PulsarClientException.AlreadyClosedException("producer already closed"));
        }
        if (refusedForGood.contains(sequence)) {
          return CompletableFuture.failedFuture(
              new PulsarClientException.NotAllowedException("refused for good: " + sequence));
        }
        if (pending.size() >= maxPending || chance(refusedAtOnce)) {
          return CompletableFuture.failedFuture(
              new PulsarClientException.MemoryBufferIsFullError("client memory buffer is full"));
        }
        Pending p = new Pending(sequence, new CompletableFuture<>(), System.nanoTime());
        pending.add(p);
        sendsTaken.incrementAndGet();
        if (!stalled) {
          io.execute(this::drain);
        }
        return p.answer;
      }
    }

    /** Stores what is pending, in order, until the connection stalls. */
    void drain() {
      while (true) {
        Pending p;
        synchronized (this) {
          p = pending.peek();
          if (p == null || stalled || closed) {
            return;
          }
          if (hangNext) {
            hangNext = false;
            stalled = true;
            return;
          }
          if (chance(stalls)) {
            stall();
            return;
          }
          store(p.sequence);
          if (chance(answersLost)) {
            // Stored, but the connection broke before the answer came: resent on reconnect.
            stall();
            return;
          }
          pending.poll();
          lastAnswered = Math.max(lastAnswered, p.sequence);
        }
        p.answer.complete(null);
      }
    }

    /** Called holding this: the connection comes back after a while and resends in order. */
    private void stall() {
      stalled = true;
      long millis = ThreadLocalRandom.current().nextLong(stallMinMillis, stallMaxMillis);
      var unused =
          io.schedule(
              () -> {
                synchronized (this) {
                  stalled = false;
                }
                drain();
              },
              millis,
              TimeUnit.MILLISECONDS);
    }

    /** The real client's send timeout: every pending send fails; the producer stays usable. */
    void timeOut() {
      List<Pending> failed = new ArrayList<>();
      synchronized (this) {
        if (closed) {
          return;
        }
        Pending oldest = pending.peek();
        if (oldest != null
            && System.nanoTime() - oldest.at > TimeUnit.MILLISECONDS.toNanos(sendTimeoutMillis)) {
          failed.addAll(pending);
          pending.clear();
          clientTimeouts.incrementAndGet();
        }
      }
      for (Pending p : failed) {
        p.answer.completeExceptionally(
            new PulsarClientException.TimeoutException("could not send within the send timeout"));
      }
      var unused = io.schedule(this::timeOut, 10, TimeUnit.MILLISECONDS);
    }

    void closeNow() {
      List<Pending> failed;
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        failed = new ArrayList<>(pending);
        pending.clear();
      }
      synchronized (FlakyPulsar.this) {
        if (open == this) {
          open = null;
        }
      }
      for (Pending p : failed) {
        p.answer.completeExceptionally(
            new PulsarClientException.AlreadyClosedException("producer closed"));
      }
    }
  }
}
