package dev.outlast.core.health;

import dev.outlast.core.Guard;
import dev.outlast.core.Redaction;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health of everything a service depends on, in one call: each guard, cache and queue says how
 * its dependency is, how much the service depends on it, and why.
 *
 * <pre>{@code
 * Health health =
 *     Health.builder()
 *         .guard(mysqlGuard, Importance.CORE)
 *         .check(productCache.health(Importance.DEPENDENT))
 *         .check(orderEvents.health(Importance.DEPENDENT))
 *         .build();
 * String json = health.snapshot().toJson();   // for a /health endpoint
 * }</pre>
 *
 * <p>Every text of a report (names, reasons) goes through {@link Redaction#redact(String)}, then
 * through the application's own redactor if one is given ({@link Builder#redactWith}): a report
 * carries no password, token or {@code Authorization} value, and nothing the application chose to
 * hide.
 *
 * <p>Immutable and threadsafe; a snapshot asks every check and calls no dependency.
 */
public final class Health {
  private static final Logger log = LoggerFactory.getLogger(Health.class);

  /** What a text becomes when the application's redactor fails on it. */
  static final String WITHHELD = "(withheld: the health redactor failed)";

  private final List<HealthCheck> checks;
  private final Clock clock;
  private final @Nullable UnaryOperator<String> redactor;
  private final AtomicBoolean redactorFailureLogged = new AtomicBoolean();

  private Health(Builder b) {
    this.checks = List.copyOf(b.checks);
    this.clock = b.clock;
    this.redactor = b.redactor;
  }

  /** {@return a new builder with no components} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A guard's health: breaker closed is UP; half-open (probing after an outage) is DEGRADED; open
   * is DOWN, with since when and the last failure. The component is named after the guard's
   * dependency, of kind "guard".
   *
   * @param guard the guard, read afresh at each check
   * @param importance how much the service depends on the guard's dependency
   * @return a check that reads the guard's snapshot
   */
  public static HealthCheck of(Guard guard, Importance importance) {
    Objects.requireNonNull(guard, "guard");
    Objects.requireNonNull(importance, "importance");
    return () -> component(guard.dependency(), "guard", guard, importance, false, "");
  }

  /**
   * The health of a component that cannot answer without its dependency: the guard's state as in
   * {@link #of}, then what the component itself sees. A component working around a problem is at
   * least DEGRADED, whatever the guard says; an open breaker makes it DOWN.
   *
   * @param name the component's name: "product cache"
   * @param kind what it is: "cache", "queue"
   * @param guard the guard of its dependency, whose snapshot is read now
   * @param importance how much the service depends on the component
   * @param workingAround whether the component is working around a problem now
   * @param detail what the component sees, appended to the guard's reason; may be empty
   * @return the component's health, with the guard's figures as details
   */
  public static ComponentHealth component(
      String name,
      String kind,
      Guard guard,
      Importance importance,
      boolean workingAround,
      String detail) {
    Guard.Snapshot g = guard.snapshot();
    HealthStatus own = workingAround ? HealthStatus.DEGRADED : HealthStatus.UP;
    HealthStatus status = g.state() == Guard.State.OPEN ? HealthStatus.DOWN : combine(g, own);
    return build(name, kind, g, importance, status, false, detail, Map.of());
  }

  /**
   * The health of a component that keeps answering while its dependency is out (a cache serving
   * stale values, a queue holding events on disk), from the guard's state and the component's own
   * view:
   *
   * <ul>
   *   <li>{@code own} DOWN (it cannot do its job: nothing to serve, no room for events): DOWN.
   *   <li>breaker open or half-open: DEGRADED, since the component answers without the dependency.
   *   <li>breaker closed: {@code own}.
   * </ul>
   *
   * @param name the component's name: "orders queue"
   * @param kind what it is: "cache", "queue"
   * @param guard the guard of its dependency, whose snapshot is read now
   * @param importance how much the service depends on the component
   * @param own the component's own view: UP, DEGRADED (working around a problem) or DOWN
   * @param processFailure whether something failed inside the process (see {@link
   *     ComponentHealth#processFailure()})
   * @param detail what the component sees, in words, appended to the guard's reason; may be empty
   * @param details the component's figures, after the guard's ({@code state}, {@code since}, ...);
   *     one of the same name replaces the guard's
   * @return the component's health
   * @throws IllegalArgumentException if a detail's value is not a String, Long, Integer, Double or
   *     Boolean
   */
  public static ComponentHealth component(
      String name,
      String kind,
      Guard guard,
      Importance importance,
      HealthStatus own,
      boolean processFailure,
      String detail,
      Map<String, Object> details) {
    Objects.requireNonNull(own, "own");
    Guard.Snapshot g = guard.snapshot();
    HealthStatus status;
    if (own == HealthStatus.DOWN) {
      status = HealthStatus.DOWN;
    } else if (g.state() != Guard.State.CLOSED) {
      status = HealthStatus.DEGRADED;
    } else {
      status = own;
    }
    return build(name, kind, g, importance, status, processFailure, detail, details);
  }

  /** A guard's half-open breaker degrades whatever the component says. */
  private static HealthStatus combine(Guard.Snapshot g, HealthStatus own) {
    return g.state() == Guard.State.HALF_OPEN ? HealthStatus.DEGRADED : own;
  }

  private static ComponentHealth build(
      String name,
      String kind,
      Guard.Snapshot g,
      Importance importance,
      HealthStatus status,
      boolean processFailure,
      String detail,
      Map<String, Object> own) {
    String last = g.lastFailure() == null ? "" : "; last failure: " + g.lastFailure();
    String reason =
        switch (g.state()) {
          case OPEN -> "breaker open since " + g.stateSince() + last;
          case HALF_OPEN -> "breaker half-open since " + g.stateSince() + ": probing" + last;
          default -> "breaker closed, " + Math.max(0, g.failureRate()) + "% of recent calls failed";
        };
    if (g.abandonedCalls() > 0) {
      reason += "; " + g.abandonedCalls() + " calls abandoned at their timeout still hold a thread";
    }
    if (g.lastPluginFailure() != null) {
      reason +=
          "; a plug-in failed " + g.pluginFailures() + " times, last: " + g.lastPluginFailure();
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("state", g.state().name());
    details.put("since", g.stateSince().toString());
    if (g.failureRate() >= 0) {
      // -1 while the window holds fewer calls than the minimum: no rate yet, so none is shown.
      details.put("failureRate", (double) g.failureRate());
    }
    details.put("rejectedCalls", g.rejectedCalls());
    details.put("timeouts", g.timeouts());
    details.put("abandonedCalls", g.abandonedCalls());
    if (g.lastFailure() != null) {
      details.put("lastFailure", g.lastFailure());
    }
    if (g.lastFailureAt() != null) {
      details.put("lastFailureAt", String.valueOf(g.lastFailureAt()));
    }
    if (g.lastPluginFailure() != null) {
      details.put("pluginFailures", g.pluginFailures());
    }
    details.putAll(own);
    return new ComponentHealth(
        name,
        kind,
        g.dependency(),
        status,
        importance,
        String.valueOf(Redaction.redact(detail.isEmpty() ? reason : reason + "; " + detail)),
        processFailure,
        details);
  }

  /**
   * {@return every component's health now, and the service's status from them} A check that throws
   * or returns null shows as a DOWN component of kind "check" and importance DEPENDENT, named by
   * the check's {@code toString}; the other checks are still asked.
   */
  public HealthReport snapshot() {
    List<ComponentHealth> all = new ArrayList<>(checks.size());
    HealthStatus overall = HealthStatus.UP;
    for (HealthCheck c : checks) {
      ComponentHealth h;
      try {
        h = Objects.requireNonNull(c.check(), "a health check returned null");
      } catch (Throwable e) {
        // A broken check must not hide the others, nor fail the health endpoint (an Error from a
        // missing optional class included); it reports itself as down.
        h =
            new ComponentHealth(
                c.toString(),
                "check",
                "unknown",
                HealthStatus.DOWN,
                Importance.DEPENDENT,
                String.valueOf(Redaction.redact("the health check failed: " + e)));
      }
      h = redacted(h);
      all.add(h);
      if (h.status() == HealthStatus.DOWN && h.importance() == Importance.CORE) {
        overall = HealthStatus.DOWN;
      } else if (h.status() != HealthStatus.UP && overall == HealthStatus.UP) {
        overall = HealthStatus.DEGRADED;
      }
    }
    return new HealthReport(clock.instant(), overall, all);
  }

  /** The component with every text redacted, by Outlast and then by the application. */
  private ComponentHealth redacted(ComponentHealth h) {
    return new ComponentHealth(
        redacted(h.component()),
        redacted(h.kind()),
        redacted(h.dependency()),
        h.status(),
        h.importance(),
        redacted(h.reason()),
        h.processFailure(),
        redactedDetails(h.details()));
  }

  private Map<String, Object> redactedDetails(Map<String, Object> details) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : details.entrySet()) {
      Object v = e.getValue();
      out.put(e.getKey(), v instanceof String text ? redacted(text) : v);
    }
    return out;
  }

  private String redacted(String text) {
    String s = String.valueOf(Redaction.redact(text));
    UnaryOperator<String> r = redactor;
    if (r == null) {
      return s;
    }
    try {
      return Objects.requireNonNull(r.apply(s), "the health redactor returned null");
    } catch (Throwable t) {
      // The text may hold what the application wanted hidden: withhold it rather than show it.
      // Only the failure's type is logged, since its message may quote the text.
      if (redactorFailureLogged.compareAndSet(false, true)) {
        log.error(
            "the health redactor {} threw {}; the texts it fails on are withheld from health"
                + " reports (logged once)",
            r,
            t.getClass().getName());
      }
      return WITHHELD;
    }
  }

  /** Settings for a {@link Health}. Not threadsafe; build once. */
  public static final class Builder {
    private final List<HealthCheck> checks = new ArrayList<>();
    private Clock clock = Clock.systemUTC();
    private @Nullable UnaryOperator<String> redactor;

    private Builder() {}

    /**
     * Adds a guard, as {@link Health#of(Guard, Importance)} reports it.
     *
     * @param guard the guard
     * @param importance how much the service depends on the guard's dependency
     * @return this builder
     */
    public Builder guard(Guard guard, Importance importance) {
      checks.add(of(guard, importance));
      return this;
    }

    /**
     * Adds a component's check: a cache's or a queue's {@code health(importance)}.
     *
     * @param check asked at every snapshot, in the order the checks were added
     * @return this builder
     */
    public Builder check(HealthCheck check) {
      checks.add(Objects.requireNonNull(check, "check"));
      return this;
    }

    /**
     * A redactor of the application's own, applied to every text of a report after Outlast's
     * built-in {@link Redaction}: to hide host names, schema names or server messages. It runs on
     * the snapshot's thread and must be threadsafe. If it throws (or returns null) the text it was
     * given is replaced by {@code "(withheld: the health redactor failed)"} and the first such
     * failure is logged, without its message.
     *
     * @param redactor takes a text and returns what may be shown
     * @return this builder
     */
    public Builder redactWith(UnaryOperator<String> redactor) {
      this.redactor = Objects.requireNonNull(redactor, "redactor");
      return this;
    }

    /**
     * The clock of the reports' times; UTC system time by default.
     *
     * @param clock a clock a test controls
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** {@return the health registry, with the checks added so far} */
    public Health build() {
      return new Health(this);
    }
  }
}
