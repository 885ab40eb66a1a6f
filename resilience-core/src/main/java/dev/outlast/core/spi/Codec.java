package dev.outlast.core.spi;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns values into bytes and back, for what Outlast stores on disk. A codec must be deterministic
 * in what it reads: {@code decode(encode(v))} equals {@code v}. When the bytes are not a value it
 * wrote, {@link #decode} must throw (any {@link RuntimeException}); Outlast then treats the record
 * as damaged instead of serving it.
 *
 * <p>Implementations must be threadsafe. Outlast calls them on its own threads; an exception from
 * one fails only the record at hand.
 *
 * @param <T> the type of value
 */
public interface Codec<T> {

  /**
   * The bytes of a value.
   *
   * @param value never null
   * @return never null; may be empty
   */
  byte[] encode(T value);

  /**
   * The value of bytes that {@link #encode} produced.
   *
   * @param bytes never null
   * @return never null
   * @throws RuntimeException if the bytes are not an encoded value
   */
  T decode(byte[] bytes);

  /**
   * {@return a codec of strings as UTF-8} Both ways reject what UTF-8 cannot carry with an {@link
   * IllegalArgumentException}: bytes that are not UTF-8, and a string with a lone surrogate (the
   * JDK would write it as '?', and the event read back would not be the one published).
   */
  static Codec<String> utf8() {
    return new Codec<>() {
      @Override
      public byte[] encode(String value) {
        byte[] plain = value.getBytes(StandardCharsets.UTF_8);
        // A lone surrogate is the only thing getBytes replaces (with '?').
        int at = loneSurrogateAt(value);
        if (at < 0) {
          return plain;
        }
        throw new IllegalArgumentException(
            "not valid Unicode: a lone surrogate at index "
                + at
                + " of a "
                + value.length()
                + "-char string; UTF-8 cannot carry it");
      }

      @Override
      public String decode(byte[] bytes) {
        try {
          return StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
        } catch (CharacterCodingException e) {
          throw new IllegalArgumentException("not UTF-8: " + bytes.length + " bytes", e);
        }
      }

      @Override
      public String toString() {
        return "Codec.utf8()";
      }
    };
  }

  /**
   * {@return a codec of byte arrays as they are} They are copied both ways, so that callers cannot
   * change stored bytes.
   */
  static Codec<byte[]> bytes() {
    return new Codec<>() {
      @Override
      public byte[] encode(byte[] value) {
        return value.clone();
      }

      @Override
      public byte[] decode(byte[] bytes) {
        return bytes.clone();
      }

      @Override
      public String toString() {
        return "Codec.bytes()";
      }
    };
  }

  /**
   * {@return a codec of longs as 8 big-endian bytes} Decoding rejects any other length with an
   * {@link IllegalArgumentException}.
   */
  static Codec<Long> int64() {
    return new Codec<>() {
      @Override
      public byte[] encode(Long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
      }

      @Override
      public Long decode(byte[] bytes) {
        if (bytes.length != Long.BYTES) {
          throw new IllegalArgumentException("a long takes 8 bytes, got " + bytes.length);
        }
        return ByteBuffer.wrap(bytes).getLong();
      }

      @Override
      public String toString() {
        return "Codec.int64()";
      }
    };
  }

  /**
   * {@return a codec of lists, each element written with the element codec} The format is the
   * element count, then each element's length and bytes (big-endian ints). Decoded lists are
   * unmodifiable; bytes that do not parse, or that are left over, are rejected with an {@link
   * IllegalArgumentException}.
   *
   * @param <E> the type of the elements
   * @param element the codec of one element
   */
  static <E> Codec<List<E>> listOf(Codec<E> element) {
    Objects.requireNonNull(element, "element");
    return new Codec<>() {
      @Override
      public byte[] encode(List<E> value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
          out.writeInt(value.size());
          for (E e : value) {
            byte[] b = element.encode(e);
            out.writeInt(b.length);
            out.write(b);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
      }

      @Override
      public List<E> decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
          int size = in.readInt();
          if (size < 0 || size > bytes.length) {
            throw new IllegalArgumentException("impossible list size " + size);
          }
          List<E> list = new ArrayList<>(size);
          for (int i = 0; i < size; i++) {
            int length = in.readInt();
            if (length < 0 || length > in.available()) {
              throw new IllegalArgumentException("element " + i + " claims " + length + " bytes");
            }
            byte[] b = new byte[length];
            in.readFully(b);
            list.add(element.decode(b));
          }
          if (in.available() != 0) {
            throw new IllegalArgumentException(in.available() + " bytes after the last element");
          }
          return Collections.unmodifiableList(list);
        } catch (IOException e) {
          throw new IllegalArgumentException("truncated list", e);
        }
      }

      @Override
      public String toString() {
        return "Codec.listOf(" + element + ")";
      }
    };
  }

  /**
   * {@return a codec of optionals: one byte for presence (0 or 1), then the element's bytes}
   *
   * @param <E> the type of the element
   * @param element the codec of the element, when present
   */
  static <E> Codec<Optional<E>> optionalOf(Codec<E> element) {
    Objects.requireNonNull(element, "element");
    return new Codec<>() {
      @Override
      public byte[] encode(Optional<E> value) {
        if (value.isEmpty()) {
          return new byte[] {0};
        }
        byte[] b = element.encode(value.get());
        byte[] out = new byte[b.length + 1];
        out[0] = 1;
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
      }

      @Override
      public Optional<E> decode(byte[] bytes) {
        if (bytes.length == 1 && bytes[0] == 0) {
          return Optional.empty();
        }
        if (bytes.length == 0 || bytes[0] != 1) {
          throw new IllegalArgumentException("not an encoded Optional");
        }
        byte[] b = new byte[bytes.length - 1];
        System.arraycopy(bytes, 1, b, 0, b.length);
        return Optional.of(element.decode(b));
      }

      @Override
      public String toString() {
        return "Codec.optionalOf(" + element + ")";
      }
    };
  }

  /** Where the first surrogate without its pair is, or -1. */
  private static int loneSurrogateAt(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return i;
      }
    }
    return -1;
  }
}
