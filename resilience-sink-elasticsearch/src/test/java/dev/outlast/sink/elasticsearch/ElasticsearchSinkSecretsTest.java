package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, "credentials leak": the sink took {@code http://user:pass@host} as it was. The JDK's
 * client never sent those credentials, and the address with the password showed in {@code
 * toString()}, WARN lines, the guard's last failure, exceptions and the health JSON; credentials
 * went over plain http without a word. Now the address's credentials are basic authentication, kept
 * out of every text, and credentials over http need an explicit opt-in.
 */
class ElasticsearchSinkSecretsTest {
  private static final String PASSWORD = SecretsLeakProbe.PASSWORD;

  private static String basic(String user, String password) {
    return Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aPasswordInTheAddress_appearsInNoOutput_throughRefusalCutOffAndKill(@TempDir Path dir)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    command.add("-XX:-UsePerfData");
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-")
          || arg.startsWith("-Dchronicle")
          || arg.startsWith("--enable-native")
          || arg.startsWith("--sun-misc")) {
        command.add(arg);
      }
    }
    // Everything Outlast logs, down to TRACE, goes to the output that is searched.
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
    command.add("-Dorg.slf4j.simpleLogger.log.dev.outlast=trace");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SecretsLeakProbe.class.getName());
    command.add(dir.toString());
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
      }
    }
    // Kept for whoever reads a failure; the build directory, like every test's leftovers.
    Files.writeString(Path.of("target", "secrets-probe-output.txt"), out);

    assertThat(out)
        .as("the probe ran every part")
        .contains("PROBE-DONE")
        .contains("circuit breaker OPEN")
        .contains("HTTP 401 (check the sink's credentials)")
        .contains("Authorization: Basic ***")
        .contains("[cut-off] guard snapshot")
        .contains("[killed] health: {\"status\":\"DOWN\"")
        .contains("DELIVERED killed")
        .containsPattern("AUTH-CHECKED accepted [1-9][0-9]* documents, refused [1-9]");
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out)
        .as("the output of the probe")
        .doesNotContain(
            PASSWORD,
            SecretsLeakProbe.WRONG_PASSWORD,
            basic(SecretsLeakProbe.USER, PASSWORD),
            basic(SecretsLeakProbe.USER, SecretsLeakProbe.WRONG_PASSWORD));
  }

  @Test
  void credentialsOverPlainHttp_areRefusedWithoutTheOptIn_andTheMessageHoldsNoSecret() {
    URI http = URI.create("http://127.0.0.1:9200");
    assertThatThrownBy(
            () -> ElasticsearchSink.builder(http, "orders").basicAuth("u", PASSWORD).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("allowCredentialsOverHttp()")
        .hasMessageNotContaining(PASSWORD);
    assertThatThrownBy(() -> ElasticsearchSink.builder(http, "orders").apiKey(PASSWORD).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageNotContaining(PASSWORD);
    assertThatThrownBy(
            () ->
                ElasticsearchSink.builder(
                        URI.create("http://elastic:" + PASSWORD + "@127.0.0.1:9200"), "orders")
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("http://127.0.0.1:9200")
        .hasMessageNotContaining(PASSWORD);
    // No credentials, or https: nothing to refuse.
    assertThat(ElasticsearchSink.builder(http, "orders").build()).isNotNull();
    assertThat(
            ElasticsearchSink.builder(URI.create("https://search:9200"), "orders")
                .basicAuth("u", PASSWORD)
                .build()
                .toString())
        .isEqualTo("ElasticsearchSink[https://search:9200/_bulk, index orders]");
  }

  @Test
  void theOptIn_logsOneWarning_andTheAddressIsShownWithoutItsCredentials() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream old = System.err;
    ElasticsearchSink<String> sink;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      sink =
          ElasticsearchSink.<String>builder(
                  URI.create("http://elastic:" + PASSWORD + "@127.0.0.1:9200/prefix"), "orders")
              .allowCredentialsOverHttp()
              .build();
    } finally {
      System.setErr(old);
    }
    String log = err.toString(StandardCharsets.UTF_8);
    assertThat(log.lines().filter(l -> l.contains("over plain http"))).hasSize(1);
    assertThat(log).doesNotContain(PASSWORD).contains("http://127.0.0.1:9200/prefix");
    assertThat(sink.toString())
        .isEqualTo("ElasticsearchSink[http://127.0.0.1:9200/prefix/_bulk, index orders]");
  }

  @Test
  void aBadAddress_isRefusedWithoutQuotingItsPassword() {
    assertThatThrownBy(
            () ->
                ElasticsearchSink.builder(
                    URI.create("http://elastic:" + PASSWORD + "@127.0.0.1:9200/?pretty"), "orders"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http://***@127.0.0.1:9200/?pretty")
        .hasMessageNotContaining(PASSWORD);
    assertThatThrownBy(
            () -> ElasticsearchSink.builder(URI.create("https://elastic@search:9200"), "orders"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without a password");
    assertThatThrownBy(
            () ->
                ElasticsearchSink.builder(
                        URI.create("https://elastic:" + PASSWORD + "@search:9200"), "orders")
                    .apiKey("key")
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("given twice")
        .hasMessageNotContaining(PASSWORD);
    // Found in review: an unencoded '/' or '?' in the password leaves no host that parses.
    for (String bad : List.of("pa/ss-" + PASSWORD, "p?ss-" + PASSWORD)) {
      assertThatThrownBy(
              () ->
                  ElasticsearchSink.builder(
                      URI.create("https://elastic:" + bad + "@search:9200"), "orders"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("percent-encode")
          .hasMessageNotContaining(PASSWORD);
    }
  }

  @Test
  void https_withAPrivateAuthority_deliversWithTheAddressCredentials(@TempDir Path dir)
      throws Exception {
    // A key pair for 127.0.0.1, signed by nobody the JDK trusts: the sink must be given it.
    Path keys = dir.resolve("server.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "search",
                "-keyalg",
                "EC",
                "-dname",
                "CN=search",
                "-ext",
                "san=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                keys.toString(),
                "-storepass",
                "changeit")
            .redirectErrorStream(true)
            .start();
    String keytoolOut = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue()).as(keytoolOut).isZero();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keys)) {
      store.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(store, "changeit".toCharArray());
    SSLContext serverTls = SSLContext.getInstance("TLS");
    serverTls.init(kmf.getKeyManagers(), null, null);
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("search", store.getCertificate("search"));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trusted);
    SSLContext clientTls = SSLContext.getInstance("TLS");
    clientTls.init(null, tmf.getTrustManagers(), null);

    List<String> authorizations = new CopyOnWriteArrayList<>();
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
    server.createContext(
        "/",
        exchange -> {
          authorizations.add(
              String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
          exchange.getRequestBody().readAllBytes();
          byte[] out =
              "{\"errors\":false,\"items\":[{\"index\":{\"status\":201}}]}"
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    server.start();
    try {
      ElasticsearchSink<String> sink =
          ElasticsearchSink.<String>builder(
                  URI.create(
                      "https://elastic:"
                          + PASSWORD
                          + "@127.0.0.1:"
                          + server.getAddress().getPort()),
                  "orders")
              .sslContext(clientTls)
              .rawJson(s -> s)
              .build();

      List<Outcome> outcomes =
          sink.deliver(List.of(new Delivery<>(new EventId("p", 1), "{\"n\":1}", 0, 1)))
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);

      assertThat(outcomes).extracting(Outcome::kind).containsExactly(Outcome.Kind.OK);
      assertThat(authorizations).containsExactly("Basic " + basic("elastic", PASSWORD));
      assertThat(sink.toString()).doesNotContain(PASSWORD);
    } finally {
      server.stop(0);
    }
  }
}
