package dev.outlast.core.fallback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.net.ConnectException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The chain's rules, with in-process sources (pure logic; outages: StitchedReadOutageTest). */
class FallbackChainTest {
  private static Guard guard(String name) {
    return Guard.of(name, GuardConfig.custom().maxAttempts(1).minimumNumberOfCalls(2).build());
  }

  private static FallbackChain<Supplier<String>> chain(
      Supplier<String> first, Supplier<String> second) {
    return FallbackChain.<Supplier<String>>builder("prices")
        .source("store", first, guard("store"))
        .source("ledger", second, guard("ledger"))
        .build();
  }

  private static Supplier<String> down(String name) {
    return () -> {
      throw new IllegalStateException(name + " down", new ConnectException("Connection refused"));
    };
  }

  @Test
  void theFirstSourceThatAnswers_wins_andSaysSo() {
    FallbackChain.Answer<String> a =
        chain(() -> "from store", () -> "from ledger").call(Supplier::get);
    assertThat(a.value()).isEqualTo("from store");
    assertThat(a.source()).isEqualTo("store");
    assertThat(a.fellBack()).isFalse();
  }

  @Test
  void anInfrastructureFailure_movesOn_andTheAnswerListsIt() throws Exception {
    FallbackChain.Answer<String> a =
        chain(
                () -> {
                  throw new RuntimeException(new ConnectException("Connection refused"));
                },
                () -> "from ledger")
            .call(Supplier::get);
    assertThat(a.value()).isEqualTo("from ledger");
    assertThat(a.source()).isEqualTo("ledger");
    assertThat(a.skipped()).extracting(SourceFailure::source).containsExactly("store");
  }

  @Test
  void aBusinessError_isTheAnswer_theNextSourceIsNotAsked() {
    AtomicInteger ledgerCalls = new AtomicInteger();
    FallbackChain<Supplier<String>> c =
        chain(
            () -> {
              throw new IllegalArgumentException("no such order");
            },
            () -> {
              ledgerCalls.incrementAndGet();
              return "x";
            });
    assertThatThrownBy(() -> c.call(Supplier::get)).hasMessage("no such order");
    assertThat(ledgerCalls).hasValue(0);
  }

  @Test
  void whenAllFail_oneExceptionCarriesEachSourcesFailure() {
    FallbackChain<Supplier<String>> c = chain(down("store"), down("ledger"));
    assertThatThrownBy(() -> c.call(Supplier::get))
        .isInstanceOf(AllSourcesFailedException.class)
        .hasMessageContaining("prices: every source failed")
        .hasMessageContaining("store: ")
        .hasMessageContaining("ledger: ")
        .satisfies(
            e -> {
              AllSourcesFailedException all = (AllSourcesFailedException) e;
              assertThat(all.failures())
                  .extracting(SourceFailure::source)
                  .containsExactly("store", "ledger");
              assertThat(all.getSuppressed()).hasSize(2);
            });
  }

  @Test
  void anOpenBreaker_skipsTheSourceWithoutCallingIt() {
    AtomicInteger storeCalls = new AtomicInteger();
    FallbackChain<Supplier<String>> c =
        chain(
            () -> {
              storeCalls.incrementAndGet();
              throw new IllegalStateException(new ConnectException("refused"));
            },
            () -> "from ledger");
    for (int i = 0; i < 10; i++) {
      assertThat(c.call(Supplier::get).value()).isEqualTo("from ledger");
    }
    // The breaker opened after the minimum number of calls; later calls never reached the store.
    assertThat(storeCalls.get()).isLessThan(10);
    FallbackChain.Answer<String> a = c.call(Supplier::get);
    assertThat(a.skipped().get(0).failure()).isInstanceOf(DependencyUnavailableException.class);
  }

  @Test
  void badWiring_failsAtBuildTime() {
    Guard shared = guard("shared");
    assertThatThrownBy(
            () ->
                FallbackChain.<String>builder("x")
                    .source("a", "a", shared)
                    .source("b", "b", shared))
        .hasMessageContaining("share one guard");
    assertThatThrownBy(
            () ->
                FallbackChain.<String>builder("x")
                    .source("a", "a", guard("a"))
                    .source("a", "b", guard("b")))
        .hasMessageContaining("already has a source named a");
    assertThatThrownBy(() -> FallbackChain.<String>builder("x").build())
        .hasMessageContaining("needs at least one source");
  }
}
