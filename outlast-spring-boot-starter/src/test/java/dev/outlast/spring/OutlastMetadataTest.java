package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The configuration metadata IDEs read: a hint of a map property names the map and {@code .keys} or
 * {@code .values}, the only forms Spring Boot's metadata format gives for maps; anything else is
 * silently ignored by the IDEs.
 */
class OutlastMetadataTest {
  private static final Pattern NAME = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"");

  @Test
  void everyHint_namesAPropertyOrItsMapKeysOrValues() throws IOException {
    String json;
    try (InputStream in =
        Objects.requireNonNull(
            getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json"),
            "the generated metadata")) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    int hintsAt = json.indexOf("\"hints\"");
    assertThat(hintsAt).isPositive();
    List<String> properties = names(json.substring(0, hintsAt));
    List<String> hints = new ArrayList<>();
    for (String n : names(json.substring(hintsAt))) {
      if (n.startsWith("outlast.")) {
        hints.add(n);
      }
    }
    assertThat(properties).contains("outlast.guard", "outlast.health.importance");
    assertThat(hints).isNotEmpty();
    for (String h : hints) {
      String property = h.replaceFirst("\\.(keys|values)$", "");
      assertThat(properties).as("the property of the hint %s", h).contains(property);
    }
  }

  private static List<String> names(String json) {
    List<String> out = new ArrayList<>();
    Matcher m = NAME.matcher(json);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
