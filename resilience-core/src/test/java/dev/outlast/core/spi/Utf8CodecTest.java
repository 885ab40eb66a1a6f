package dev.outlast.core.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Codec.utf8 keeps its promise, decode(encode(v)) equals v, or says why it cannot. */
class Utf8CodecTest {
  private final Codec<String> codec = Codec.utf8();

  @Test
  void roundTripsAsciiAccentsAndPairedSurrogates() {
    for (String s : new String[] {"", "order 42", "crème brûlée", "emoji \uD83D\uDE00 ok"}) {
      assertThat(codec.decode(codec.encode(s))).isEqualTo(s);
      assertThat(codec.encode(s)).isEqualTo(s.getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void aLoneSurrogate_isRefusedWithWhereItIs_insteadOfBecomingAQuestionMark() {
    assertThatThrownBy(() -> codec.encode("ab\uD83Dc"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lone surrogate at index 2 of a 4-char string");
    assertThatThrownBy(() -> codec.encode("\uDE00"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index 0");
    assertThatThrownBy(() -> codec.encode("x\uD83D"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index 1");
  }

  @Test
  void bytesThatAreNotUtf8_areRefused() {
    assertThatThrownBy(() -> codec.decode(new byte[] {(byte) 0xC3}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not UTF-8");
  }
}
