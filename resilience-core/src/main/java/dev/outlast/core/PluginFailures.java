package dev.outlast.core;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * Failures of user code a guard calls (classifier, listener, recovery probe): the first failure of
 * each plug-in is logged with its stack trace, later ones only counted, so that a plug-in that
 * throws on every call cannot flood the log; the last one is kept for health.
 *
 * <p>Threadsafe: any thread that ran a plug-in reports here.
 */
final class PluginFailures {
  private final String owner;
  private final Logger log;
  private final ConcurrentHashMap<String, Boolean> logged = new ConcurrentHashMap<>();
  private final LongAdder count = new LongAdder();
  private volatile @Nullable String last;

  PluginFailures(String owner, Logger log) {
    this.owner = owner;
    this.log = log;
  }

  /**
   * Records a failure of one plug-in.
   *
   * @param plugin what failed, as a user would name it: "failure classifier"
   * @param instance the plug-in, for its toString in the log
   * @param failure what it threw
   * @param outcome what the guard did instead, for the log
   */
  void failed(String plugin, Object instance, Throwable failure, String outcome) {
    count.increment();
    last = Redaction.redact(plugin + " " + instance + " threw " + failure);
    if (logged.putIfAbsent(plugin, Boolean.TRUE) == null) {
      log.error(
          "{}: the {} {} threw; {}. Later failures of it are counted, not logged (see health)",
          owner,
          plugin,
          instance,
          outcome,
          Redaction.forLog(failure));
    }
  }

  long count() {
    return count.sum();
  }

  @Nullable String last() {
    return last;
  }
}
