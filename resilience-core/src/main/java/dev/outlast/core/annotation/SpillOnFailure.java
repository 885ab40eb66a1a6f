package dev.outlast.core.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The method publishes its one argument, an event; when the implementation cannot (its dependency
 * is out), the event goes to a spill queue (module {@code resilience-buffer}, which must be on the
 * class path), which holds it on disk and delivers it through its own sink when the dependency is
 * back. The call then returns normally: the caller never sees the outage.
 *
 * <p>While the queue holds a backlog, new events go to the queue too, behind the ones waiting, so
 * that they arrive in the order they were published. Delivery is at least once: an event whose call
 * timed out may have arrived and be delivered again by the queue.
 *
 * <p>Outage or error: the call goes through the method's {@link Guarded} guard if it has one, else
 * through the queue's. Failures the guard counts as infrastructure failures, and its refusals,
 * spill; any other failure (a bad event) is thrown to the caller and nothing is spilled.
 *
 * <p>The method must take exactly one parameter and return {@code void}, or {@code
 * CompletableFuture<Void>} / {@code CompletionStage<Void>}: a spilled call has no result to give.
 *
 * <p>Property: {@code outlast.spill.<Interface>.<method>.queue} replaces {@link #queue}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface SpillOnFailure {
  /** {@return the name the queue was registered under with {@link Outlast.Builder#resource}} */
  String queue();
}
