package dev.outlast.spring;

import dev.outlast.core.FailureClassifier;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.health.Importance;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ListableBeanFactory;

/** Makes the guard of {@code outlast.guard.<name>.*}. Stateless. */
final class Guards {
  private Guards() {}

  /** The DataSource bean a recovery probe names, or null for none; checks the form. */
  static @Nullable String probeDataSource(String name, String probe, ListableBeanFactory beans) {
    String p = probe.trim();
    if (p.equals("none")) {
      return null;
    }
    if (p.equals("jdbc")) {
      String[] all = beans.getBeanNamesForType(DataSource.class, false, false);
      if (all.length != 1) {
        throw new OutlastConfigurationException(
            "outlast.guard."
                + name
                + ".recovery-probe=jdbc needs exactly one DataSource bean, there are "
                + Arrays.toString(all),
            "name the one to probe: recovery-probe=jdbc:<DataSource bean name>");
      }
      return all[0];
    }
    if (p.startsWith("jdbc:") && p.length() > 5) {
      String bean = p.substring(5);
      if (!beans.containsBean(bean)) {
        throw new OutlastConfigurationException(
            "outlast.guard."
                + name
                + ".recovery-probe names the DataSource bean '"
                + bean
                + "', and there is none; the DataSource beans are "
                + Arrays.toString(beans.getBeanNamesForType(DataSource.class, false, false)),
            "name one of them, or write recovery-probe=none");
      }
      return bean;
    }
    throw new OutlastConfigurationException(
        "outlast.guard." + name + ".recovery-probe is '" + probe + "'",
        "write jdbc, jdbc:<DataSource bean name> or none");
  }

  /**
   * Refuses a core guard without a recovery probe: its open breaker takes the pod out of readiness,
   * and with no probe it closes only on a call, which a pod that is not ready never gets.
   */
  static void checkCoreHasProbe(
      String property, String name, Importance importance, boolean hasProbe, boolean configured) {
    if (importance != Importance.CORE || hasProbe) {
      return;
    }
    throw new OutlastConfigurationException(
        property
            + ": importance core needs a recovery probe: without one its breaker closes only on a"
            + " call, and a pod that is not ready gets none",
        configured
            ? "set recovery-probe: jdbc (or jdbc:<DataSource bean>), declare the Guard bean with"
                + " Guard.builder(\""
                + name
                + "\").recoveryProbe(..), or set importance: dependent"
            : "build the Guard bean with Guard.builder(\""
                + name
                + "\").recoveryProbe(..), or set outlast.health.importance."
                + name
                + "=dependent");
  }

  static Guard build(
      String name,
      OutlastProperties.GuardProperties p,
      ListableBeanFactory beans,
      ScheduledExecutorService probeScheduler) {
    GuardConfig.Builder c =
        GuardConfig.from(
            p.getPreset() == OutlastProperties.Preset.BROKER
                ? GuardConfig.broker()
                : GuardConfig.database());
    String at = "outlast.guard." + name + ".";
    set(at + "call-timeout", p.getCallTimeout(), c::callTimeout);
    set(at + "failure-rate-threshold", p.getFailureRateThreshold(), c::failureRateThreshold);
    set(at + "sliding-window", p.getSlidingWindow(), c::slidingWindowSize);
    set(at + "minimum-calls", p.getMinimumCalls(), c::minimumNumberOfCalls);
    set(at + "open-wait", p.getOpenWait(), c::openWait);
    set(at + "max-open-wait", p.getMaxOpenWait(), c::maxOpenWait);
    set(at + "probes", p.getProbes(), c::probes);
    set(at + "max-attempts", p.getMaxAttempts(), c::maxAttempts);
    set(at + "retry-backoff", p.getRetryBackoff(), c::retryBackoff);
    set(at + "max-retry-backoff", p.getMaxRetryBackoff(), c::maxRetryBackoff);
    set(at + "jitter", p.getJitter(), c::jitter);
    set(at + "max-concurrent-calls", p.getMaxConcurrentCalls(), c::maxConcurrentCalls);
    set(at + "interrupt-on-timeout", p.getInterruptOnTimeout(), c::interruptOnTimeout);
    set(at + "probe-interval", p.getProbeInterval(), c::probeInterval);
    String classifier = p.getClassifier();
    if (classifier != null) {
      c.classifier(bean(beans, classifier, FailureClassifier.class, at + "classifier"));
    }
    GuardConfig config;
    try {
      config = c.build();
    } catch (IllegalArgumentException e) {
      throw new OutlastConfigurationException(
          "the settings of outlast.guard." + name + " contradict each other: " + e.getMessage(),
          "change one of them",
          e);
    }
    Guard.Builder g = Guard.builder(name).config(config);
    String ds = probeDataSource(name, p.getRecoveryProbe(), beans);
    if (ds != null) {
      DataSource dataSource = bean(beans, ds, DataSource.class, at + "recovery-probe");
      Duration timeout = config.callTimeout();
      g.recoveryProbe(RecoveryProbe.jdbc(dataSource, timeout)).scheduler(probeScheduler);
    }
    return g.build();
  }

  static <T> T bean(ListableBeanFactory beans, String name, Class<T> type, String property) {
    if (!beans.containsBean(name)) {
      throw new OutlastConfigurationException(
          property
              + " names the bean '"
              + name
              + "', and there is none; the "
              + type.getSimpleName()
              + " beans are "
              + Arrays.toString(beans.getBeanNamesForType(type, false, false)),
          "name one of them, or declare a " + type.getSimpleName() + " bean named '" + name + "'");
    }
    if (!beans.isTypeMatch(name, type)) {
      throw new OutlastConfigurationException(
          property + " names the bean '" + name + "', which is not a " + type.getName(),
          "name a "
              + type.getSimpleName()
              + " bean: "
              + Arrays.toString(beans.getBeanNamesForType(type, false, false)));
    }
    return beans.getBean(name, type);
  }

  private static <V> void set(String property, @Nullable V value, Consumer<V> setter) {
    if (value == null) {
      return;
    }
    try {
      setter.accept(value);
    } catch (IllegalArgumentException e) {
      throw new OutlastConfigurationException(
          "the property " + property + " is " + value + ": " + e.getMessage(),
          "give it a value in the range the message names",
          e);
    }
  }
}
