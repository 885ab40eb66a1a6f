package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class OutlastExceptionTest {

  @Test
  void hotPathConstructor_skipsStackTrace_keepsMessageAndCause() {
    IOException cause = new IOException("connection refused");
    OutlastException e = new OutlastException("mysql is down", cause, false) {};

    assertThat(e.getStackTrace()).isEmpty();
    assertThat(e).hasMessage("mysql is down").hasCause(cause);
  }

  @Test
  void publicConstructor_fillsStackTrace() {
    assertThat(new OutlastException("x").getStackTrace()).isNotEmpty();
  }
}
