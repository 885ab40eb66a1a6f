package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;

/**
 * Headless Chromium (Debian's {@code chromium} package), to look at report.html as a browser draws
 * it: a screenshot and the DOM after rendering. Found at {@code -Dchromium.path}, {@code
 * /usr/bin/chromium} or {@code chromium} on the PATH. Without it a test is skipped, saying so,
 * unless the environment variable {@code CI} is set or {@code OUTLAST_REQUIRE_CHROMIUM=1}: then it
 * fails, saying to install it.
 */
final class Chromium {
  static final int WIDTH = 1400;
  static final int HEIGHT = 1000;
  private static final long TIMEOUT_SECONDS = 60;
  private static final Pattern ELEMENT =
      Pattern.compile("<(/g|g|polygon|polyline|rect)\\b([^>]*)>");
  private static final Pattern ATTRIBUTE = Pattern.compile("([a-z-]+)=\"([^\"]*)\"");

  private final Path binary;

  private Chromium(Path binary) {
    this.binary = binary;
  }

  /** The browser; the calling test is skipped without it, or fails where it is required. */
  static Chromium require() {
    String asked = System.getProperty("chromium.path");
    if (asked != null && !asked.isBlank()) {
      Path p = Path.of(asked);
      assertThat(Files.isExecutable(p))
          .as("-Dchromium.path=%s is not an executable", asked)
          .isTrue();
      return new Chromium(p);
    }
    Path found = locate();
    if (found != null) {
      return new Chromium(found);
    }
    String missing =
        "no Chromium (looked for /usr/bin/chromium and chromium on the PATH): install Debian's"
            + " package with 'apt-get install chromium', or pass -Dchromium.path=/path/to/chromium";
    if (required()) {
      fail(missing + ". Required here, as CI or OUTLAST_REQUIRE_CHROMIUM=1 is set");
    }
    Assumptions.abort(missing + ". Skipped; set OUTLAST_REQUIRE_CHROMIUM=1 to fail instead");
    throw new AssertionError("unreachable");
  }

  private static boolean required() {
    String ci = System.getenv("CI");
    return (ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false"))
        || "1".equals(System.getenv("OUTLAST_REQUIRE_CHROMIUM"));
  }

  private static @Nullable Path locate() {
    Path debian = Path.of("/usr/bin/chromium");
    if (Files.isExecutable(debian)) {
      return debian;
    }
    String path = System.getenv("PATH");
    for (String dir : path == null ? new String[0] : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "chromium"))) {
        return Path.of(dir, "chromium");
      }
    }
    return null;
  }

  /** Draws the page in a 1400 x 1000 window and writes what it shows to {@code png}. */
  void screenshot(Path page, Path png) throws IOException, InterruptedException {
    Files.createDirectories(png.toAbsolutePath().getParent());
    Files.deleteIfExists(png);
    var unused =
        run(
            page,
            "--hide-scrollbars",
            "--window-size=" + WIDTH + "," + HEIGHT,
            "--screenshot=" + png.toAbsolutePath());
    assertThat(png).as("the screenshot Chromium was asked for").exists();
  }

  /** The page's DOM once drawn, as Chromium serialises it. */
  String dom(Path page) throws IOException, InterruptedException {
    return run(page, "--dump-dom");
  }

  /** Runs Chromium on the page, at most 60 s; its standard output. */
  private String run(Path page, String... args) throws IOException, InterruptedException {
    // Its profile and caches under this JVM's temp folder (target/tmp/N), never the user's home.
    Path profile = Files.createTempDirectory("chromium-");
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.add("--headless=new");
    command.add("--no-sandbox"); // CI runs as root, where the sandbox refuses to start
    command.add("--disable-gpu");
    command.add("--no-first-run");
    command.add("--disable-dev-shm-usage");
    command.add("--user-data-dir=" + profile.resolve("profile"));
    command.addAll(List.of(args));
    command.add(page.toAbsolutePath().toUri().toString());
    Path out = profile.resolve("stdout");
    Path err = profile.resolve("stderr");
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.put("HOME", profile.toString());
    env.put("XDG_CONFIG_HOME", profile.resolve("config").toString());
    env.put("XDG_CACHE_HOME", profile.resolve("cache").toString());
    Process p = pb.start();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      fail("Chromium did not finish within %d s: %s", TIMEOUT_SECONDS, tail(err));
    }
    assertThat(p.exitValue()).as("Chromium's exit code; its errors: %s", tail(err)).isZero();
    return Files.readString(out, StandardCharsets.UTF_8);
  }

  private static String tail(Path file) throws IOException {
    if (!Files.exists(file)) {
      return "(none)";
    }
    String s = Files.readString(file, StandardCharsets.UTF_8);
    return s.length() > 2_000 ? s.substring(s.length() - 2_000) : s;
  }

  // ---- what tests check in what Chromium returned ----

  /**
   * The attributes of every polygon, polyline, g and rect in the DOM, in order, with the element's
   * name under the key "" ("/g" for the end of a group).
   */
  static List<Map<String, String>> elements(String dom) {
    List<Map<String, String>> found = new ArrayList<>();
    Matcher m = ELEMENT.matcher(dom);
    while (m.find()) {
      Map<String, String> attributes = new java.util.LinkedHashMap<>();
      attributes.put("", m.group(1));
      Matcher a = ATTRIBUTE.matcher(m.group(2));
      while (a.find()) {
        attributes.put(a.group(1), a.group(2));
      }
      found.add(attributes);
    }
    return found;
  }

  /** Distinct colours in a region of the image, and the share of its pixels that are not white. */
  record Pixels(int colours, double inked) {
    static Pixels of(Path png, int x0, int y0, int x1, int y1) throws IOException {
      BufferedImage img = ImageIO.read(png.toFile());
      assertThat(img).as("a PNG that ImageIO reads: %s", png).isNotNull();
      assertThat(img.getWidth()).isEqualTo(WIDTH);
      assertThat(img.getHeight()).isEqualTo(HEIGHT);
      Set<Integer> colours = new HashSet<>();
      long inked = 0;
      long all = 0;
      for (int y = y0; y < Math.min(y1, img.getHeight()); y++) {
        for (int x = x0; x < Math.min(x1, img.getWidth()); x++) {
          int rgb = img.getRGB(x, y) & 0xffffff;
          colours.add(rgb);
          all++;
          if (rgb != 0xffffff) {
            inked++;
          }
        }
      }
      return new Pixels(colours.size(), all == 0 ? 0 : (double) inked / all);
    }
  }
}
