package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLSyntaxErrorException;
import java.sql.SQLTimeoutException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class FailureClassifierTest {
  private final FailureClassifier classifier = FailureClassifier.infrastructure();

  @Test
  void networkAndTimeoutFailures_areInfrastructure() {
    assertThat(classifier.isInfrastructureFailure(new ConnectException("refused"))).isTrue();
    assertThat(classifier.isInfrastructureFailure(new SocketTimeoutException("read"))).isTrue();
    assertThat(classifier.isInfrastructureFailure(new TimeoutException())).isTrue();
    assertThat(classifier.isInfrastructureFailure(new SQLTimeoutException("query timeout")))
        .isTrue();
    assertThat(classifier.isInfrastructureFailure(new SQLNonTransientConnectionException("gone")))
        .isTrue();
  }

  @Test
  void sqlStates_ofConnectionTimeoutAndShutdownClasses_areInfrastructure() {
    for (String state :
        new String[] {"08S01", "08001", "08004", "HYT00", "53300", "57P01", "57014", "70100"}) {
      assertThat(classifier.isInfrastructureFailure(new SQLException("x", state)))
          .as(state)
          .isTrue();
    }
    for (String state : new String[] {"23000", "42000", "42S02", "40001", "22001"}) {
      assertThat(classifier.isInfrastructureFailure(new SQLException("x", state)))
          .as(state)
          .isFalse();
    }
    assertThat(classifier.isInfrastructureFailure(new SQLException("no state"))).isFalse();
    assertThat(classifier.isInfrastructureFailure(new SQLSyntaxErrorException("syntax", "42000")))
        .isFalse();
  }

  @Test
  void causes_areFollowed_evenInACycle() {
    Exception wrapped =
        new ExecutionException(new UncheckedIOException(new ConnectException("refused")));
    assertThat(classifier.isInfrastructureFailure(wrapped)).isTrue();

    IllegalStateException a = new IllegalStateException("a");
    IllegalArgumentException b = new IllegalArgumentException("b", a);
    a.initCause(b);
    assertThat(classifier.isInfrastructureFailure(a)).isFalse();
  }

  @Test
  void or_widensTheDefault() {
    FailureClassifier wider =
        classifier.or(
            t -> t instanceof IllegalStateException && "broker busy".equals(t.getMessage()));
    assertThat(wider.isInfrastructureFailure(new IllegalStateException("broker busy"))).isTrue();
    assertThat(wider.isInfrastructureFailure(new IllegalStateException("bug"))).isFalse();
    assertThat(wider.isInfrastructureFailure(new ConnectException("refused"))).isTrue();
  }
}
