package dev.outlast.core;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Removes credentials from text before it leaves the process: every message Outlast logs, puts in
 * an exception, keeps as a guard's last failure or reports in health goes through here. What is
 * replaced by {@code ***} (case-insensitive):
 *
 * <ul>
 *   <li>the user information of a URL: {@code scheme://user:password@host} and {@code
 *       scheme://user@host} become {@code scheme://***@host} (MySQL, MariaDB and PostgreSQL URLs
 *       included);
 *   <li>the credentials of an Oracle thin URL: {@code jdbc:oracle:thin:user/password@host} becomes
 *       {@code jdbc:oracle:thin:***@host};
 *   <li>the value of an {@code Authorization} header (or {@code Proxy-Authorization}), after its
 *       scheme: {@code Authorization: Basic ***}, {@code Bearer ***}, {@code ApiKey ***};
 *   <li>the value after {@code =} or {@code :} of any key that ends in {@code password}, {@code
 *       passwd}, {@code pwd}, {@code secret}, {@code token} or {@code apikey} ({@code api_key},
 *       {@code api-key}): JDBC query strings ({@code ?user=u&password=p}), SQL Server's {@code
 *       ;password={p}}, MariaDB's {@code (password=p)}, JSON ({@code "password":"p"}) and headers
 *       ({@code X-Api-Key: k}). A quoted or braced value is replaced whole; a bare one up to the
 *       next space, {@code & ; , ) ] }} or quote.
 * </ul>
 *
 * <p>Redacting twice gives what redacting once gave. Text with none of these is returned as it is
 * (the same instance). It is a safety net, not a parser: a password with a space in a bare value
 * keeps what follows the space, and a secret under a key of another name is not found. Keep secrets
 * out of messages in the first place; use {@code Health.Builder.redactWith} for what only the
 * application knows is sensitive (host names, server messages).
 *
 * <p>Threadsafe: stateless.
 */
public final class Redaction {
  /** What every secret becomes. */
  private static final String MASK = "***";

  // scheme://userinfo@ : everything up to the last '@' before the authority ends, so that a
  // password holding an unencoded '@' is masked whole.
  // The scheme is bounded: unbounded, every word boundary in a long dotted or hyphenated text
  // would scan to its end, and the work would grow with the square of the length.
  private static final Pattern URL_USERINFO =
      Pattern.compile("(?i)\\b([a-z][a-z0-9+.\\-]{0,31}://)[^\\s/?#]*@");

  // scheme://user:pa/ss@host : a password with an unencoded '/', '?' or '#', which ends the
  // authority for a URL parser (and for the pattern above); masks up to the '@'.
  private static final Pattern URL_PASSWORD =
      Pattern.compile("(?i)\\b([a-z][a-z0-9+.\\-]{0,31}://)[^\\s/?#:@]{0,256}:[^\\s@]{0,256}@");

  // jdbc:oracle:thin:user/password@host (and the oci driver); not jdbc:oracle:thin:@host.
  private static final Pattern ORACLE = Pattern.compile("(?i)\\b(jdbc:oracle:[a-z0-9]+:)[^\\s@]+@");

  private static final Pattern AUTHORIZATION =
      Pattern.compile(
          "(?i)(authorization[\"']?\\s*[:=]\\s*(?:\\[\\s*)?[\"']?)"
              + "(?:(basic|bearer|apikey|api-key|token|digest|negotiate|ntlm)\\s+)?"
              + "([^\\s\"',;\\]]+)");

  // MySQL's "Access denied for user 'u'@'h' (using password: YES)" says no secret: left alone.
  private static final Pattern KEY_VALUE =
      Pattern.compile(
          "(?i)((?:password|passwd|pwd|secret|token|api[_-]?key)[\"']?\\s*[:=]\\s*)"
              + "(?!(?:yes|no)\\))"
              + "(\"[^\"]*\"?|'[^']*'?|\\{[^}]*}?|[^\\s&;,)\\]}\"'<>]+)");

  // A key of KEY_VALUE or AUTHORIZATION contains one of these.
  private static final String[] KEY_STARTS = {
    "pass", "pwd", "secret", "token", "key", "authorization"
  };

  private Redaction() {}

  /**
   * The text with every credential it holds replaced by {@code ***}; see the class comment for what
   * is found.
   *
   * @param text any text: a message, a URL, a header; may be null
   * @return the redacted text, the same instance if nothing was found; null if {@code text} was
   */
  public static @Nullable String redact(@Nullable String text) {
    if (text == null || text.isEmpty() || !mayHoldSecret(text)) {
      return text;
    }
    String s = replace(URL_USERINFO, text, m -> m.group(1) + MASK + "@");
    s = replace(URL_PASSWORD, s, m -> m.group(1) + MASK + "@");
    s = replace(ORACLE, s, m -> m.group(1) + MASK + "@");
    s =
        replace(
            AUTHORIZATION,
            s,
            m -> m.group(1) + (m.group(2) == null ? "" : m.group(2) + " ") + MASK);
    s = replace(KEY_VALUE, s, m -> m.group(1) + masked(m.group(2)));
    return s.equals(text) ? text : s;
  }

  /**
   * The throwable to log in place of {@code failure}: itself when neither its message nor those of
   * its causes and suppressed exceptions hold anything {@link #redact(String)} would change;
   * otherwise a copy whose messages are redacted, with the same stack traces, causes and suppressed
   * exceptions (copied the same way). The copy's {@code toString()} is the original's, redacted, so
   * that the original class name shows in the log. Never throw the copy: it exists to be printed.
   *
   * @param failure what to log
   * @return what to hand the logger
   */
  public static Throwable forLog(Throwable failure) {
    if (clean(failure, new IdentityHashMap<>())) {
      return failure;
    }
    return copy(failure, new IdentityHashMap<>());
  }

  /** A cheap test that skips the patterns for the common message with nothing to find. */
  private static boolean mayHoldSecret(String s) {
    if (s.indexOf('@') >= 0) {
      return true;
    }
    for (int i = 0; i < s.length(); i++) {
      switch (s.charAt(i)) {
        case 'p', 'P', 's', 'S', 't', 'T', 'k', 'K', 'a', 'A' -> {
          if (startsWithKey(s, i)) {
            return true;
          }
        }
        default -> {}
      }
    }
    return false;
  }

  private static boolean startsWithKey(String s, int i) {
    for (String k : KEY_STARTS) {
      if (s.regionMatches(true, i, k, 0, k.length())) {
        return true;
      }
    }
    return false;
  }

  private static String masked(String value) {
    char first = value.charAt(0);
    return switch (first) {
      case '"' -> "\"" + MASK + "\"";
      case '\'' -> "'" + MASK + "'";
      case '{' -> "{" + MASK + "}";
      default -> MASK;
    };
  }

  private interface Replacement {
    String of(Matcher m);
  }

  private static String replace(Pattern p, String s, Replacement r) {
    Matcher m = p.matcher(s);
    if (!m.find()) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    do {
      m.appendReplacement(b, Matcher.quoteReplacement(r.of(m)));
    } while (m.find());
    m.appendTail(b);
    return b.toString();
  }

  /** Whether nothing in the throwable's graph needs redaction; {@code seen} stops cycles. */
  private static boolean clean(Throwable t, Map<Throwable, Boolean> seen) {
    if (seen.put(t, Boolean.TRUE) != null) {
      return true;
    }
    String text = t.toString();
    if (!text.equals(redact(text))) {
      return false;
    }
    Throwable cause = t.getCause();
    if (cause != null && !clean(cause, seen)) {
      return false;
    }
    for (Throwable s : t.getSuppressed()) {
      if (!clean(s, seen)) {
        return false;
      }
    }
    return true;
  }

  private static Throwable copy(Throwable t, Map<Throwable, Throwable> copies) {
    Throwable done = copies.get(t);
    if (done != null) {
      return done;
    }
    Redacted c = new Redacted(String.valueOf(redact(t.toString())));
    copies.put(t, c);
    c.setStackTrace(t.getStackTrace());
    Throwable cause = t.getCause();
    if (cause != null) {
      c.initCause(copy(cause, copies));
    }
    for (Throwable s : t.getSuppressed()) {
      c.addSuppressed(copy(s, copies));
    }
    return c;
  }

  /** A stand-in for a throwable whose text held a secret; prints as the original, redacted. */
  private static final class Redacted extends Throwable {
    private static final long serialVersionUID = 1L;

    private final String text;

    Redacted(String text) {
      // The original's class name is part of the text; the stack trace is replaced by the
      // original's, and the cause is set after (this constructor leaves it unset).
      super(text);
      this.text = text;
    }

    // toString, not getMessage: the text already begins with the original's class name, which a
    // stack trace should show instead of this stand-in's.
    @SuppressWarnings("OverrideThrowableToString")
    @Override
    public String toString() {
      return text;
    }
  }
}
