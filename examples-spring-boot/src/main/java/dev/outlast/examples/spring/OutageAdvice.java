package dev.outlast.examples.spring;

import dev.outlast.buffer.SpillQueueFullException;
import dev.outlast.cache.NoUsableValueException;
import dev.outlast.core.DependencyTimeoutException;
import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.OutlastException;
import dev.outlast.core.fallback.AllSourcesFailedException;
import java.util.Map;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * What a client gets when Outlast cannot answer for a dependency: 503 with {@code Retry-After}, not
 * 500, since the request was fine and will succeed once the dependency is back. That happens only
 * for what no fallback holds: a product the cache never had, history while both sources are out, an
 * order while the spill queue is full. Outlast's messages name the dependency and are redacted; the
 * body carries them.
 */
@RestControllerAdvice
class OutageAdvice {
  @ExceptionHandler({
    NoUsableValueException.class,
    DependencyUnavailableException.class,
    DependencyTimeoutException.class,
    AllSourcesFailedException.class,
    SpillQueueFullException.class
  })
  ResponseEntity<Map<String, String>> unavailable(OutlastException e) {
    return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
        .header(HttpHeaders.RETRY_AFTER, "5")
        .body(Map.of("error", String.valueOf(e.getMessage())));
  }

  @ExceptionHandler({IllegalArgumentException.class, HttpMessageNotReadableException.class})
  ResponseEntity<Map<String, String>> badRequest(Exception e) {
    return ResponseEntity.badRequest().body(Map.of("error", String.valueOf(e.getMessage())));
  }
}
