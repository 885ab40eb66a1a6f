package dev.outlast.buffer;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.annotation.spi.AnnotationHandler;
import dev.outlast.core.annotation.spi.Invoker;
import dev.outlast.core.annotation.spi.WiringSite;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Wires {@link SpillOnFailure}: the implementation publishes; when its dependency is out, or the
 * queue still holds events, the event goes to the queue instead. Found by core through {@link
 * java.util.ServiceLoader}; not meant to be used directly. Threadsafe and stateless.
 */
public final class SpillOnFailureHandler implements AnnotationHandler {
  /** For {@link java.util.ServiceLoader}. */
  public SpillOnFailureHandler() {}

  @Override
  public Class<? extends Annotation> annotation() {
    return SpillOnFailure.class;
  }

  @Override
  public String kind() {
    return "spill";
  }

  @Override
  public Set<String> attributes() {
    return Set.of("queue");
  }

  @Override
  public Invoker wire(WiringSite site) {
    Method m = site.method();
    SpillOnFailure a = Objects.requireNonNull(m.getAnnotation(SpillOnFailure.class));
    boolean async = checkReturnType(site, m);
    if (m.getParameterCount() != 1) {
      throw site.problem(
          "@SpillOnFailure: the method takes "
              + m.getParameterCount()
              + " parameters; the queue holds one event per call",
          "take exactly one parameter, the event (a record holding several values)");
    }
    String name = site.setting(site.id(), "queue", a.queue());
    SpillQueue<?> queue = site.resource(name, SpillQueue.class, "spill queue");
    Guard own = site.guard();
    Guard guard = own != null ? own : queue.guard();
    // The target comes unguarded: the direct call goes through the method's guard, or the queue's.
    Spill<?> spill = new Spill<>(queue, guard, site.target(), site.guarded(guard));
    return async ? asyncCall(spill) : spill::sync;
  }

  // The future is not dropped: it is the method's result, which the proxy returns to the caller.
  @SuppressWarnings("FutureReturnValueIgnored")
  private static Invoker asyncCall(Spill<?> spill) {
    return spill::async;
  }

  /** Whether the method returns a future; throws unless it returns that or nothing. */
  private static boolean checkReturnType(WiringSite site, Method m) {
    Class<?> r = m.getReturnType();
    if (r == void.class || r == Void.class) {
      return false;
    }
    if (r == CompletableFuture.class || r == CompletionStage.class) {
      Type g = m.getGenericReturnType();
      Type arg = g instanceof ParameterizedType p ? p.getActualTypeArguments()[0] : Void.class;
      if (arg == Void.class || (arg instanceof WildcardType w && isUnbounded(w))) {
        return true;
      }
      throw site.problem(
          "@SpillOnFailure: the method returns "
              + g.getTypeName()
              + ", and a spilled call has no "
              + arg.getTypeName()
              + " to complete it with",
          "return " + r.getSimpleName() + "<Void>");
    }
    throw site.problem(
        "@SpillOnFailure: the method returns "
            + m.getGenericReturnType().getTypeName()
            + ", and a spilled call has nothing to return",
        "return void, or CompletableFuture<Void> / CompletionStage<Void> to publish"
            + " asynchronously");
  }

  private static boolean isUnbounded(WildcardType w) {
    return w.getLowerBounds().length == 0
        && (w.getUpperBounds().length == 0 || w.getUpperBounds()[0] == Object.class);
  }

  /** One wired method. */
  private static final class Spill<E> {
    private final SpillQueue<E> queue;
    private final Guard guard;

    /** The implementation, for the asynchronous call, which takes its permit itself. */
    private final Invoker target;

    /** The implementation through the guard, for the synchronous call. */
    private final Invoker guarded;

    Spill(SpillQueue<E> queue, Guard guard, Invoker target, Invoker guarded) {
      this.queue = queue;
      this.guard = guard;
      this.target = target;
      this.guarded = guarded;
    }

    @Nullable Object sync(@Nullable Object @Nullable [] args) throws Exception {
      E event = event(args);
      if (queue.holdsBacklog()) {
        queue.publish(event); // behind the events waiting, to keep their order
        return null;
      }
      try {
        guarded.invoke(args);
      } catch (Exception t) {
        if (!guard.isOutage(t)) {
          throw t; // the event's own error: thrown, as the method declares it, and not spilled
        }
        try {
          queue.publish(event);
        } catch (RuntimeException full) {
          full.addSuppressed(t);
          throw full;
        }
      }
      return null;
    }

    CompletableFuture<@Nullable Void> async(@Nullable Object @Nullable [] args) {
      E event = event(args);
      if (queue.holdsBacklog()) {
        return queue.publishAsync(event).thenApply(id -> null);
      }
      Guard.Permit permit = guard.tryEnter();
      if (permit == null) {
        return queue.publishAsync(event).thenApply(id -> null);
      }
      long start = System.nanoTime();
      CompletableFuture<?> sent;
      try {
        Object stage = target.invoke(args);
        sent =
            stage == null
                ? CompletableFuture.failedFuture(
                    new NullPointerException("the implementation returned a null future"))
                : ((CompletionStage<?>) stage).toCompletableFuture();
      } catch (Throwable t) {
        // Whatever the implementation throws, its permit still gets its one outcome below.
        sent = CompletableFuture.failedFuture(t);
      }
      CompletableFuture<@Nullable Void> done = new CompletableFuture<>();
      var unused =
          // A copy: the timeout must not complete the implementation's own future.
          sent.copy()
              .orTimeout(guard.config().callTimeout().toNanos(), TimeUnit.NANOSECONDS)
              .whenComplete(
                  (ok, failure) -> {
                    long elapsed = System.nanoTime() - start;
                    if (failure == null) {
                      permit.success(elapsed);
                      done.complete(null);
                      return;
                    }
                    Throwable cause =
                        failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause()
                            : failure;
                    permit.failure(elapsed, cause);
                    if (!guard.isOutage(cause)) {
                      done.completeExceptionally(cause);
                      return;
                    }
                    spillTo(done, event, cause);
                  });
      return done;
    }

    private void spillTo(CompletableFuture<@Nullable Void> done, E event, Throwable why) {
      CompletableFuture<?> journaled;
      try {
        journaled = queue.publishAsync(event);
      } catch (RuntimeException e) {
        e.addSuppressed(why);
        done.completeExceptionally(e);
        return;
      }
      var unused =
          journaled.whenComplete(
              (id, failure) -> {
                if (failure == null) {
                  done.complete(null);
                } else {
                  failure.addSuppressed(why);
                  done.completeExceptionally(failure);
                }
              });
    }

    @SuppressWarnings("unchecked") // the queue's codec checks the event's type as it encodes it
    private E event(@Nullable Object @Nullable [] args) {
      return (E) Objects.requireNonNull(Objects.requireNonNull(args)[0], "event");
    }
  }
}
