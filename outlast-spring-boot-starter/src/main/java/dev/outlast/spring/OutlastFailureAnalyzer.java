package dev.outlast.spring;

import dev.outlast.core.OutlastException;
import dev.outlast.core.annotation.WiringException;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;

/**
 * Shows an Outlast configuration or wiring failure in Spring Boot's start-up report as a
 * description and an action, however deep in bean creation it was thrown. Found through {@code
 * META-INF/spring.factories}. Stateless.
 */
final class OutlastFailureAnalyzer implements FailureAnalyzer {
  private static final String FIX = ". Fix: ";

  @Override
  public @Nullable FailureAnalysis analyze(Throwable failure) {
    OutlastException found = null;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof OutlastConfigurationException || t instanceof WiringException) {
        found = (OutlastException) t;
        break;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    if (found == null) {
      return null;
    }
    String message = String.valueOf(found.getMessage());
    int fix = message.indexOf(FIX);
    String description = fix < 0 ? message : message.substring(0, fix) + ".";
    String action =
        fix < 0
            ? "Change the outlast.* properties or the annotations as the description says."
            : upper(message.substring(fix + FIX.length()));
    return new FailureAnalysis("Outlast: " + description, action, found);
  }

  private static String upper(String s) {
    return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }
}
