package dev.outlast.sink.pulsar;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Redaction;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SchemaSerializationException;
import org.apache.pulsar.client.api.TypedMessageBuilder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers a spill queue's events to an Apache Pulsar topic, effectively once when the broker
 * deduplicates.
 *
 * <p>Each event's stable id maps onto Pulsar's own deduplication key: the queue's producer id
 * becomes the producer name ({@code <prefix><producer id>}) and the event's sequence number its
 * sequence id, which consumers read as {@code Message.getProducerName()} and {@code
 * getSequenceId()} (no property is added: it would cost every message its bytes). The publish time
 * becomes the message's event time. A broker with deduplication enabled for the namespace ({@code
 * pulsar-admin namespaces set-deduplication --enable}, or {@code brokerDeduplicationEnabled=true})
 * then drops an event sent twice instead of storing it twice.
 *
 * <p>Pulsar's failures need care to keep that promise. A failed send may have been stored all the
 * same (its answer lost), and with deduplication an event stored after one that was not makes the
 * broker refuse the earlier one for good. So after any failure, or a send unanswered for {@link
 * Builder#sendTimeout}, the sink closes its producer before handing it anything more (a send handed
 * to it afterwards fails at once; one handed before waits behind the failed one); the next batch
 * creates a new producer under the same name, asks the broker for the last sequence id it stored
 * ({@link Producer#getLastSequenceId()}), reports everything up to it as delivered and sends only
 * what follows. The client's own send timeout is off: it fails the waiting sends but keeps the
 * producer open, which could store a later send ahead of them. Events therefore reach the topic
 * once and in publish order.
 *
 * <p>While the queue drains a backlog the sink takes several batches at once ({@link
 * Builder#maxBatchesInFlight}, 4 by default), so that the producer's pending messages never run dry
 * at the end of a batch; all their events go to the producer in order, at most {@link
 * Builder#maxInFlight} unanswered. A failed send stops the rest: sends queued behind it are not
 * handed to that producer (which could reconnect and store them ahead of the failed one), and a
 * batch the queue hands over behind the failure is answered retry without sending until the queue
 * sends the failed event again; only then is a new producer made, which resumes from the broker's
 * last stored sequence id as above.
 *
 * <pre>{@code
 * PulsarSink<Order> sink =
 *     PulsarSink.builder(client, "persistent://shop/orders/placed", Schema.JSON(Order.class))
 *         .key(Order::customerId)
 *         .build();
 * }</pre>
 *
 * <p>Results, per event: stored → {@link Outcome#ok()}; a message the client refuses for good (too
 * large, cannot be serialised) → {@link Outcome#reject}; anything else (broker down, timeout,
 * producer fenced) → {@link Outcome#retry} for it and every event after it.
 *
 * <p>The {@link PulsarClient} stays the application's (its URL, authentication, TLS); {@link
 * #close()} closes only the producer. Threadsafe.
 *
 * @param <E> the event type
 */
public final class PulsarSink<E> implements Sink<E>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PulsarSink.class);

  private final PulsarClient client;
  private final String topic;
  private final Schema<E> schema;
  private final @Nullable Function<? super E, String> key;
  private final String producerPrefix;
  private final Duration sendTimeout;
  private final int maxInFlight;
  private final boolean batching;

  private final int maxBatches;

  /** How much room under maxInFlight an answer waits for before the pump refills. */
  private final int refillAt;

  /** The most sends the pump takes from the queue under one hold of the lock. */
  private static final int CHUNK = 64;

  // Guarded by this: the producer in use (or being created), and the name it was created under.
  private @Nullable CompletableFuture<Producer<E>> producer;
  private @Nullable String producerName;
  private boolean closed;
  // Guarded by this. Bumped whenever a producer is discarded: sends queued for an older one fail.
  private long generation;
  // Guarded by this: the first event of a failed send, until the queue sends it again (0: none).
  // Batches that start after it are answered retry without sending.
  private long resendFrom;
  // Guarded by this: sends waiting for room under maxInFlight, in order; sends handed to the
  // producer and not answered; whether a thread is pumping, and whether it must look again.
  private final ArrayDeque<Item> queued = new ArrayDeque<>();
  private int sending;
  private boolean pumping;
  private boolean pumpAgain;
  // Guarded by this: sends handed to the current producer, in the order handed (answered ones are
  // dropped from the head lazily), and whether a check of the oldest one's age is scheduled.
  private final ArrayDeque<Item> unanswered = new ArrayDeque<>();
  // Guarded by this: the thread that refills after answers, made on first use, stopped by close.
  private java.util.concurrent.@Nullable ExecutorService refiller;
  private boolean watching;
  // Guarded by this: events the broker or the client refused for good, by sequence id, the newest
  // REJECTED_KEPT. The queue may send one again (it resends a whole batch whose call timed out);
  // by then later events may be stored, and the resume from the last stored id would count it
  // stored. It is refused again instead.
  private final Map<Long, Throwable> rejected =
      new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Throwable> eldest) {
          return size() > REJECTED_KEPT;
        }
      };
  private static final int REJECTED_KEPT = 4_096;

  private PulsarSink(Builder<E> b) {
    this.client = b.client;
    this.topic = b.topic;
    this.schema = b.schema;
    this.key = b.key;
    this.producerPrefix = b.producerPrefix;
    this.sendTimeout = b.sendTimeout;
    this.maxInFlight = b.maxInFlight;
    this.batching = b.batching;
    this.maxBatches = b.maxBatches;
    this.refillAt = Math.max(1, Math.min(CHUNK, maxInFlight / 4));
  }

  /**
   * A builder for a sink to one topic.
   *
   * @param client the application's client
   * @param topic the topic, for example {@code persistent://tenant/namespace/name}
   * @param schema how events become message payloads, for example {@code Schema.JSON(Order.class)}
   * @param <E> the event type
   * @return a builder with the defaults
   * @throws IllegalArgumentException if the topic is blank
   */
  public static <E> Builder<E> builder(PulsarClient client, String topic, Schema<E> schema) {
    return new Builder<>(client, topic, schema);
  }

  /** {@return how many of the queue's batches it takes in flight; see the builder} */
  @Override
  public int maxBatchesInFlight() {
    return maxBatches;
  }

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<E>> batch) {
    if (batch.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    String name = producerPrefix + batch.get(0).id().producerId();
    long first = batch.get(0).id().sequence();
    Batch answer = new Batch(batch.size());
    List<Item> items = new ArrayList<>(batch.size());
    synchronized (this) {
      if (resendFrom > 0 && first > resendFrom) {
        // A batch sent behind one that failed: nothing of it may reach the broker before the
        // failed events do, or the broker would drop those as duplicates once they come.
        Outcome[] outcomes = new Outcome[batch.size()];
        Arrays.fill(
            outcomes,
            Outcome.retry("waiting to resend from event " + resendFrom + " after a failure"));
        return CompletableFuture.completedFuture(List.of(outcomes));
      }
      resendFrom = 0;
      CompletableFuture<Producer<E>> p = producer(name);
      // Queued here, on the queue's thread and in its order, whether or not the producer exists
      // yet: the pump sends them in this order once it does.
      for (int i = 0; i < batch.size(); i++) {
        Item item = new Item(answer, i, p, generation, batch.get(i));
        items.add(item);
        queued.add(item);
      }
    }
    var unused =
        answer.future.whenComplete(
            (v, t) -> {
              if (t instanceof java.util.concurrent.CancellationException) {
                givenUp(items);
              }
            });
    pump();
    return answer.future;
  }

  /**
   * Hands queued sends to the producer in order while fewer than {@code maxInFlight} are
   * unanswered. One thread pumps at a time (whoever finds it idle: the queue's thread, or the
   * client's on an answer or a producer created), so sends reach the producer in queue order.
   */
  private void pump() {
    synchronized (this) {
      if (pumping) {
        pumpAgain = true;
        return;
      }
      pumping = true;
    }
    pumpAsOwner();
  }

  /**
   * The pump's loop, run by the thread that set {@code pumping}. Takes up to {@link #CHUNK} sends
   * at a time under the lock (one lock per chunk, not per event: the broker shares the cores) and
   * hands them to the producer outside it. A failure found meanwhile on another thread closes the
   * producer once it has marked the failure: what this thread hands over after the close fails on
   * the spot, and what it hands over before is queued behind the failed send (the sink's own
   * timeout and a close leave it there or fail everything pending at once), so it cannot be stored
   * ahead of it. The one failure the client reports for a single send while keeping the producer is
   * the broker refusing that message for good, answered reject. Open: a broker answering a backlog
   * quota with {@code producer_exception} fails every pending send and keeps the producer
   * reconnecting; a send handed over in the moment before the close could then be stored ahead of
   * them (not reproduced).
   */
  private void pumpAsOwner() {
    List<Item> chunk = new ArrayList<>(CHUNK);
    try {
      pumpChunks(chunk);
    } catch (Throwable t) {
      // Nothing here should throw; if something does (an Error), the pump must not stay claimed
      // with nobody pumping, or every later batch would wait for its call timeout.
      synchronized (this) {
        pumping = false;
      }
      // Part of the chunk may be with the producer already: discard it, as for any failed send,
      // or later sends would be stored on it and the resume from the last stored id would count
      // the unsent ones delivered.
      if (!chunk.isEmpty()) {
        broken(chunk.get(0), t);
      }
      for (Item c : chunk) {
        c.finish(t);
      }
      throw t;
    }
  }

  private void pumpChunks(List<Item> chunk) {
    while (true) {
      chunk.clear();
      Producer<E> p = null;
      Throwable unmade = null;
      boolean stale = false;
      synchronized (this) {
        Item head = sending < maxInFlight ? queued.peek() : null;
        if (head != null && head.generation == generation && !head.producer.isDone()) {
          // Being created: the pump goes on when it is.
          var unused = head.producer.whenComplete((made, e) -> pump());
          head = null;
        }
        if (head == null) {
          if (!pumpAgain) {
            pumping = false;
            return;
          }
          pumpAgain = false;
          continue;
        }
        int room = Math.min(CHUNK, maxInFlight - sending);
        Item next;
        while (chunk.size() < room
            && (next = queued.peek()) != null
            && next.producer == head.producer
            && next.generation == head.generation) {
          chunk.add(queued.poll());
        }
        if (head.generation != generation) {
          stale = true;
        } else if (head.producer.isCompletedExceptionally()) {
          // Never a refusal for good, whatever the cause: no event was looked at (a create
          // refused with NotAllowedException would otherwise reject the chunk).
          Throwable cause = cause(head.producer);
          unmade =
              new PulsarClientException(
                  "the producer could not be made: " + describe(cause), cause);
        } else {
          p = head.producer.join();
          // What the broker already stored under this name (a send whose answer was lost).
          long stored = p.getLastSequenceId();
          long now = System.nanoTime();
          for (Item c : chunk) {
            // Almost always empty: no boxed lookup per send then.
            c.refused = rejected.isEmpty() ? null : rejected.get(c.delivery.id().sequence());
            c.stored = c.refused == null && c.delivery.id().sequence() <= stored;
            if (!c.stored && c.refused == null) {
              c.handedAt = now;
              unanswered.add(c);
              sending++;
            }
          }
          if (!watching && !unanswered.isEmpty()) {
            watching = true;
            watchIn(sendTimeout.toNanos());
          }
        }
      }
      if (stale) {
        // Queued for a producer since discarded: resent, in order, after the failure.
        for (Item c : chunk) {
          c.finish(
              new PulsarClientException(
                  "not sent: the producer was discarded after an earlier failure"));
        }
      } else if (unmade != null) {
        broken(chunk.get(0), unmade);
        for (Item c : chunk) {
          c.finish(unmade);
        }
      } else {
        for (Item c : chunk) {
          if (c.refused != null) {
            c.finish(c.refused); // refused for good before: the same answer
          } else if (c.stored) {
            c.finish(null); // delivered before, its answer lost: nothing to send
          } else {
            var unused = send(Objects.requireNonNull(p), c.delivery).whenComplete(c);
          }
        }
      }
    }
  }

  /**
   * The queue gave up on a batch (its call timed out) and will send its events again. What of it is
   * still queued here, or unanswered, must not go out after that: the copies would follow the
   * originals on one producer with sequence ids going backwards. So it counts as a failure of its
   * first unfinished event: the producer is discarded, what is queued for it is answered unsent,
   * and the resend starts on a new producer from what the broker stored.
   */
  private void givenUp(List<Item> items) {
    for (Item item : items) {
      if (!item.batch.finished(item.index)) {
        broken(
            item,
            new PulsarClientException.TimeoutException(
                "the queue stopped waiting for this batch (its call timed out)"));
        return;
      }
    }
  }

  /** A send was answered: the next may go. */
  private void answered(Item item, @Nullable Throwable t) {
    Throwable why = t == null ? null : unwrap(t);
    if (why != null && !isPermanent(why)) {
      // At once, not when the batch is answered: later sends must not reach this producer (which
      // may reconnect) once an earlier one failed.
      broken(item, why);
    }
    boolean pumpHere = false;
    synchronized (this) {
      if (why != null && isPermanent(why)) {
        rejected.put(item.delivery.id().sequence(), why);
      }
      item.answered = true;
      if (item.generation == generation) {
        // Sends of a discarded producer no longer count: the limit starts afresh with its
        // successor.
        sending--;
      }
      // Answers come in order, mostly: this keeps the watched list as short as what is in flight.
      Item head;
      while ((head = unanswered.peek()) != null && head.answered) {
        unanswered.poll();
      }
      // Answers of a Pulsar batch come one after the other: refill by chunks, not one by one.
      if (!queued.isEmpty() && (sending == 0 || maxInFlight - sending >= refillAt)) {
        if (pumping) {
          pumpAgain = true;
        } else {
          pumping = true;
          pumpHere = true;
        }
      }
    }
    try {
      item.finish(why);
    } finally {
      // Claimed above: if answering the batch threw (an Error), the pump must still run.
      if (pumpHere) {
        refill();
      }
    }
  }

  /**
   * Runs the pump for an answer on the sink's own thread, not the client's I/O thread that delivers
   * answers: building and handing over messages there holds up the acknowledgements queued behind
   * them on that one thread, which a client sending directly leaves to its acknowledgements.
   */
  private void refill() {
    java.util.concurrent.ExecutorService pumper;
    synchronized (this) {
      pumper = refiller;
      if (pumper == null && !closed) {
        // One thread, which ends after a minute without answers to refill after.
        pumper =
            new java.util.concurrent.ThreadPoolExecutor(
                0,
                1,
                1,
                TimeUnit.MINUTES,
                new java.util.concurrent.LinkedBlockingQueue<>(),
                r -> {
                  Thread t = new Thread(r, "outlast-pulsar-sink-" + topic);
                  t.setDaemon(true);
                  return t;
                });
        refiller = pumper;
      }
    }
    if (pumper != null) {
      try {
        pumper.execute(this::pumpAsOwner);
        return;
      } catch (RuntimeException | Error closingOrNoThread) {
        // Closed meanwhile, or no thread could be started: pump here rather than not at all.
      }
    }
    pumpAsOwner();
  }

  /**
   * A send failed, or its producer could not be made: later sends queued for that producer are not
   * sent, the producer is closed, and batches handed over behind the failure wait for its resend.
   */
  private void broken(Item item, Throwable why) {
    CompletableFuture<Producer<E>> discarded = null;
    List<Item> failed = new ArrayList<>();
    synchronized (this) {
      if (item.generation == generation) {
        // Every send of this producer not yet answered fails here, its result taken under the lock
        // that ends the generation, so that an answer coming meanwhile cannot turn one of them
        // into a success after the hold below was set from it. The hold is the first of them: the
        // queue resends from exactly there (all before it are answered), and nothing later may go
        // out on the next producer first. Held from a send that was answered ok after all (a
        // watchdog or a cancellation racing its answer), the hold would refuse every later batch
        // for good, since the queue would never resend from there.
        long first = Long.MAX_VALUE;
        if (item.batch.claim(item.index, why)) {
          failed.add(item);
          if (!isPermanent(why)) {
            first = item.delivery.id().sequence(); // a rejected event is not sent again
          }
        }
        Throwable unanswered =
            new PulsarClientException.AlreadyClosedException(
                "not answered before an earlier send failed: " + why);
        Throwable unsent =
            new PulsarClientException(
                "not sent: the producer was discarded after an earlier failure");
        for (Item a : this.unanswered) {
          if (a.generation == generation && a.batch.claim(a.index, unanswered)) {
            failed.add(a);
            first = Math.min(first, a.delivery.id().sequence());
          }
        }
        for (Item q : queued) {
          if (q.generation == generation && q.batch.claim(q.index, unsent)) {
            failed.add(q);
            first = Math.min(first, q.delivery.id().sequence());
          }
        }
        if (first != Long.MAX_VALUE) {
          holdFrom(first);
        }
        generation++;
        sending = 0;
        this.unanswered.clear();
        if (producer == item.producer) {
          producer = null;
        }
        discarded = item.producer;
      }
    }
    if (discarded != null) {
      try {
        log.debug(
            "Pulsar producer of {} discarded after: {}", topic, Redaction.redact(why.toString()));
        // Closed at once: a send handed to it after this fails on the spot, and what it still
        // holds fails with it, so nothing sent after the failed event can be stored ahead of it.
        var unused = discarded.thenAccept(PulsarSink::closeQuietly);
      } finally {
        // The batches are answered now, not when a frozen broker lets the close finish. Whatever
        // of them the broker did store is found again from its last sequence id.
        for (Item f : failed) {
          f.batch.settle();
        }
      }
      // Sends still queued for the discarded producer are taken off the queue (already failed).
      pump();
    }
  }

  /** Checks the age of the oldest unanswered send after {@code nanos}. */
  private void watchIn(long nanos) {
    var unused =
        CompletableFuture.runAsync(
            this::watch, CompletableFuture.delayedExecutor(nanos, TimeUnit.NANOSECONDS));
  }

  /**
   * The send timeout, kept here rather than by the client: the client's own fails every pending
   * send but leaves the producer open, so a send handed to it a moment later could be stored while
   * the failed ones are not, and the broker's deduplication would then refuse them for good. Here
   * an overdue send discards the producer, which closes it first.
   */
  private void watch() {
    while (true) {
      Item late;
      synchronized (this) {
        Item head;
        while ((head = unanswered.peek()) != null
            && (head.answered || head.generation != generation)) {
          unanswered.poll();
        }
        if (head == null) {
          watching = false;
          return;
        }
        long left = head.handedAt + sendTimeout.toNanos() - System.nanoTime();
        if (left > 0) {
          watchIn(left);
          return;
        }
        late = head;
      }
      broken(
          late,
          new PulsarClientException.TimeoutException(
              "the broker did not answer a send within " + sendTimeout));
    }
  }

  /** Batches that start after this event wait until it is sent again. Called holding the lock. */
  private void holdFrom(long sequence) {
    if (resendFrom == 0 || sequence < resendFrom) {
      resendFrom = sequence;
    }
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private CompletableFuture<?> send(Producer<E> p, Delivery<E> d) {
    try {
      TypedMessageBuilder<E> m =
          p.newMessage()
              .sequenceId(d.id().sequence())
              .eventTime(Math.max(1, d.publishedAtMillis()))
              .value(d.event());
      Function<? super E, String> k = key;
      if (k != null) {
        m.key(k.apply(d.event()));
      }
      return m.sendAsync();
    } catch (Exception | StackOverflowError | LinkageError e) {
      // The schema cannot serialise the event, or the key function failed (an event nested too
      // deep, a class that cannot be loaded, a checked exception it did not declare): never
      // sendable.
      return CompletableFuture.failedFuture(
          new SchemaSerializationException(String.valueOf(Redaction.redact(e.toString()))));
    }
  }

  /** Failures that say this one message can never be stored; the producer is still good. */
  private static boolean isPermanent(Throwable t) {
    // NotAllowedException: the broker refused this one message and keeps the producer; a later
    // message may be stored, after which a resend of this one would be dropped as a duplicate.
    return t instanceof PulsarClientException.InvalidMessageException
        || t instanceof PulsarClientException.NotAllowedException
        || t instanceof SchemaSerializationException;
  }

  private static Throwable cause(CompletableFuture<?> f) {
    try {
      f.join();
      throw new IllegalStateException("not failed");
    } catch (CompletionException e) {
      return e.getCause() == null ? e : e.getCause();
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static String describe(Throwable t) {
    // Outcome reasons reach logs and dead letters; a client message may quote a URL or a token.
    return String.valueOf(Redaction.redact(t.getClass().getSimpleName() + ": " + t.getMessage()));
  }

  /**
   * One event to send on a producer, queued until the in-flight limit has room; its own answer
   * callback (one object per event, not a lambda more).
   */
  private final class Item implements BiConsumer<Object, Throwable> {
    final Batch batch;
    final int index;
    final CompletableFuture<Producer<E>> producer;
    final long generation;
    final Delivery<E> delivery;
    // Guarded by the sink: when it was handed to the producer, whether it was answered, whether
    // the broker had it already.
    long handedAt;
    boolean answered;
    boolean stored;
    @Nullable Throwable refused;

    Item(
        Batch batch,
        int index,
        CompletableFuture<Producer<E>> producer,
        long generation,
        Delivery<E> delivery) {
      this.batch = batch;
      this.index = index;
      this.producer = producer;
      this.generation = generation;
      this.delivery = delivery;
    }

    @Override
    public void accept(Object ignored, @Nullable Throwable t) {
      answered(this, t);
    }

    void finish(@Nullable Throwable t) {
      batch.finish(index, t);
    }
  }

  /** The answer to one {@code deliver}: complete once every event of it has a result. */
  private static final class Batch {
    private static final Object SENT = new Object();

    // Per event: null while waiting, SENT, or why it failed. The first result counts: a send
    // answered at once when its producer was discarded may be failed again by the close.
    private final AtomicReferenceArray<Object> results;
    private final AtomicInteger left;
    final CompletableFuture<List<Outcome>> future = new CompletableFuture<>();

    Batch(int size) {
      this.results = new AtomicReferenceArray<>(size);
      this.left = new AtomicInteger(size);
    }

    boolean finished(int index) {
      return results.get(index) != null;
    }

    void finish(int index, @Nullable Throwable t) {
      if (claim(index, t)) {
        settle();
      }
    }

    /**
     * Takes the result of one event, if it has none yet; the batch is answered by {@link #settle}
     * once every event has one. Split so that the sink can take results under its lock and answer
     * the batch outside it, where the queue's callbacks may run.
     *
     * @return whether this result counts (the first one does)
     */
    boolean claim(int index, @Nullable Throwable t) {
      return results.compareAndSet(index, null, t == null ? SENT : t);
    }

    /** Counts one claimed result; answers the batch with the last. */
    void settle() {
      if (left.decrementAndGet() == 0) {
        future.complete(outcomes());
      }
    }

    /** Each event's outcome, in order: after the first failure nothing later counts. */
    private List<Outcome> outcomes() {
      Outcome[] outcomes = new Outcome[results.length()];
      @Nullable Throwable broken = null;
      for (int i = 0; i < outcomes.length; i++) {
        Object r = results.get(i);
        Throwable t = r instanceof Throwable failed ? failed : null;
        if (broken != null) {
          // Resent, or found stored, in order.
          outcomes[i] = Outcome.retry("an earlier event of the batch failed: " + describe(broken));
        } else if (t == null) {
          outcomes[i] = Outcome.ok();
        } else if (isPermanent(t)) {
          outcomes[i] = Outcome.reject(describe(t));
        } else {
          broken = t;
          outcomes[i] = Outcome.retry(describe(t));
        }
      }
      return List.of(outcomes);
    }
  }

  /**
   * The producer for this name, created (asynchronously, once) if there is none. Called holding the
   * lock.
   */
  private CompletableFuture<Producer<E>> producer(String name) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("the Pulsar sink is closed"));
    }
    if (producerName != null && !producerName.equals(name)) {
      return CompletableFuture.failedFuture(
          new IllegalStateException(
              "one PulsarSink serves one spill queue: it sends as "
                  + producerName
                  + " and was given events of "
                  + name));
    }
    CompletableFuture<Producer<E>> current = producer;
    if (current != null && !current.isCompletedExceptionally()) {
      // Being created, or created: a producer reconnects by itself after a lost connection.
      return current;
    }
    producerName = name;
    CompletableFuture<Producer<E>> created =
        client
            .newProducer(schema)
            .topic(topic)
            .producerName(name)
            // No send timeout of the client's own: see watch().
            .sendTimeout(0, TimeUnit.MILLISECONDS)
            .maxPendingMessages(maxInFlight)
            .blockIfQueueFull(false)
            .enableBatching(batching)
            .batchingMaxPublishDelay(1, TimeUnit.MILLISECONDS)
            .createAsync();
    producer = created;
    var unused =
        created.whenComplete(
            (p, e) -> {
              if (e != null) {
                log.debug(
                    "cannot create Pulsar producer {} on {}: {}",
                    name,
                    topic,
                    Redaction.redact(e.toString()));
              }
            });
    return created;
  }

  /** Closes the producer (not the client, which stays the application's). */
  @Override
  public void close() {
    CompletableFuture<Producer<E>> current;
    java.util.concurrent.ExecutorService pumper;
    synchronized (this) {
      closed = true;
      pumper = refiller;
      refiller = null;
      current = producer;
      producer = null;
    }
    if (current != null && current.isDone() && !current.isCompletedExceptionally()) {
      try {
        current.join().close();
      } catch (PulsarClientException e) {
        log.debug("closing Pulsar producer: {}", Redaction.redact(e.toString()));
      }
    } else if (current != null) {
      // Still being created: close it once it is.
      var unused = current.thenAccept(PulsarSink::closeQuietly);
    }
    if (pumper != null) {
      // A refill already queued still runs: what it hands the closed producer fails at once.
      pumper.shutdown();
    }
  }

  private static void closeQuietly(Producer<?> p) {
    var unused =
        p.closeAsync()
            .exceptionally(
                e -> {
                  log.debug(
                      "closing Pulsar producer {}: {}",
                      p.getProducerName(),
                      Redaction.redact(e.toString()));
                  return null;
                });
  }

  @Override
  public String name() {
    return "pulsar " + topic;
  }

  @Override
  public String toString() {
    return "PulsarSink[" + topic + "]";
  }

  /**
   * Settings for a {@link PulsarSink}. Not threadsafe; the sink it builds is immutable in its
   * settings.
   *
   * @param <E> the event type
   */
  public static final class Builder<E> {
    private final PulsarClient client;
    private final String topic;
    private final Schema<E> schema;
    private @Nullable Function<? super E, String> key;
    private String producerPrefix = "outlast-";
    private Duration sendTimeout = Duration.ofSeconds(5);
    private int maxInFlight = 1_000;
    private int maxBatches = 4;
    private boolean batching = true;

    private Builder(PulsarClient client, String topic, Schema<E> schema) {
      this.client = Objects.requireNonNull(client, "client");
      this.schema = Objects.requireNonNull(schema, "schema");
      Objects.requireNonNull(topic, "topic");
      if (topic.isBlank()) {
        throw new IllegalArgumentException("topic is blank");
      }
      this.topic = topic;
    }

    /**
     * The message key of each event (for key-shared subscriptions and compaction); none by default.
     *
     * @param keyOf the key of an event; an event it throws on is rejected into the queue's
     *     dead-letter journal
     * @return this builder
     */
    public Builder<E> key(Function<? super E, String> keyOf) {
      this.key = Objects.requireNonNull(keyOf, "keyOf");
      return this;
    }

    /**
     * What goes before the queue's producer id in the producer name; {@code outlast-} by default.
     * The name must stay the same across restarts: the broker deduplicates per name.
     *
     * @param prefix letters, digits, '.', '_' and '-'; may be empty
     * @return this builder
     * @throws IllegalArgumentException if it holds any other character
     */
    public Builder<E> producerNamePrefix(String prefix) {
      Objects.requireNonNull(prefix, "prefix");
      if (!prefix.matches("[A-Za-z0-9._-]*")) {
        throw new IllegalArgumentException(
            "producerNamePrefix may hold letters, digits, '.', '_' and '-', was '" + prefix + "'");
      }
      this.producerPrefix = prefix;
      return this;
    }

    /**
     * How long a send may wait for the broker's answer; 5 seconds by default. When one waits
     * longer, the sink closes its producer (failing every send still waiting on it) and starts
     * again from what the broker stored. Keep it below the sink guard's call timeout.
     *
     * <p>The sink keeps this timeout itself and makes its producer with none ({@code
     * sendTimeout(0)}, as Pulsar advises with deduplication): the client's own timeout fails the
     * waiting sends but leaves the producer open, so a send handed to it a moment later could be
     * stored ahead of them, and deduplication would then refuse them for good.
     *
     * @param timeout positive, at most a day
     * @return this builder
     * @throws IllegalArgumentException if it is not positive, or longer than a day
     */
    public Builder<E> sendTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("sendTimeout must be positive, was " + timeout);
      }
      if (timeout.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(
            "sendTimeout must be at most a day, was "
                + timeout
                + "; a send waits no longer than the guard's call timeout anyway");
      }
      this.sendTimeout = timeout;
      return this;
    }

    /**
     * The most events sent and not yet answered, over all the batches in flight; 1,000 by default.
     * Also the producer's limit of pending messages.
     *
     * @param events in [1, 100,000]
     * @return this builder
     * @throws IllegalArgumentException if it is out of range
     */
    public Builder<E> maxInFlight(int events) {
      if (events < 1 || events > 100_000) {
        throw new IllegalArgumentException("maxInFlight must be in [1, 100000], was " + events);
      }
      this.maxInFlight = events;
      return this;
    }

    /**
     * How many of the queue's batches the sink takes at once while the queue drains its backlog
     * ({@code Sink.maxBatchesInFlight()}); 4 by default. More keep the producer's pipeline full
     * across the end of one batch and the start of the next; the events of all of them together
     * still go out at most {@link #maxInFlight} at a time, in order. 1 sends one batch and waits
     * for its last acknowledgement before the next.
     *
     * @param batches in [1, 16]
     * @return this builder
     * @throws IllegalArgumentException if it is out of range
     */
    public Builder<E> maxBatchesInFlight(int batches) {
      if (batches < 1 || batches > 16) {
        throw new IllegalArgumentException("maxBatchesInFlight must be in [1, 16], was " + batches);
      }
      this.maxBatches = batches;
      return this;
    }

    /**
     * Turns the client's message batching off (on by default: much faster catch-up).
     *
     * @return this builder
     */
    public Builder<E> withoutBatching() {
      this.batching = false;
      return this;
    }

    /** {@return the sink; its producer is created on the first delivery, not here} */
    public PulsarSink<E> build() {
      return new PulsarSink<>(this);
    }
  }
}
