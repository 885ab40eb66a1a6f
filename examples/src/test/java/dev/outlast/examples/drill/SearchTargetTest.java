package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.outlast.testkit.FaultProxy;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drill's Elasticsearch options (issue 16): https with a private authority through the fault
 * proxy, the certificate checked against the cluster's own name; basic or API-key credentials;
 * credentials over plain http refused without the explicit flag.
 */
class SearchTargetTest {
  private static final String PASSWORD = "Es-S3cret-pw";

  @Test
  void https_throughTheProxy_trustsThePrivateAuthority_andChecksTheClustersName(@TempDir Path dir)
      throws Exception {
    Path keys = dir.resolve("server.p12");
    keytool(
        "-genkeypair",
        "-alias",
        "search",
        "-keyalg",
        "EC",
        "-dname",
        "CN=search.test",
        "-ext",
        "san=dns:search.test",
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        keys.toString(),
        "-storepass",
        "changeit");
    Path ca = dir.resolve("ca.pem");
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "search",
        "-keystore",
        keys.toString(),
        "-storepass",
        "changeit",
        "-file",
        ca.toString());
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpsServer server = httpsServer(keys, seen);
    try (FaultProxy proxy = FaultProxy.to("127.0.0.1", server.getAddress().getPort())) {
      SearchTarget target =
          SearchTarget.of(
              "https://search.test:" + server.getAddress().getPort(),
              Map.of("elasticsearch-user", "elastic", "elasticsearch-ca", ca.toString()),
              Map.of(SearchTarget.PASSWORD_ENV, PASSWORD));
      HttpClient http = target.client(Duration.ofSeconds(2));

      int status =
          target
              .send(http, target.through(proxy.port()), "GET", "/", "", Duration.ofSeconds(5))
              .statusCode();

      assertThat(status).isEqualTo(200);
      assertThat(seen)
          .containsExactly(
              "Basic "
                  + Base64.getEncoder()
                      .encodeToString(("elastic:" + PASSWORD).getBytes(StandardCharsets.UTF_8)));

      // The same certificate, presented for another cluster's name: refused.
      SearchTarget other =
          SearchTarget.of(
              "https://other.test:9200",
              Map.of("elasticsearch-api-key", "a2V5", "elasticsearch-ca", ca.toString()),
              Map.of());
      assertThatThrownBy(
              () ->
                  other.send(
                      other.client(Duration.ofSeconds(2)),
                      other.through(proxy.port()),
                      "GET",
                      "/",
                      "",
                      Duration.ofSeconds(5)))
          .isInstanceOf(SSLHandshakeException.class);
      // And without the private authority, the JDK's authorities do not know it.
      SearchTarget untrusted = SearchTarget.of("https://search.test:9200", Map.of(), Map.of());
      assertThatThrownBy(
              () ->
                  untrusted.send(
                      untrusted.client(Duration.ofSeconds(2)),
                      untrusted.through(proxy.port()),
                      "GET",
                      "/",
                      "",
                      Duration.ofSeconds(5)))
          .isInstanceOf(SSLHandshakeException.class);
    } finally {
      server.stop(0);
    }
    assertThat(seen).hasSize(1);
  }

  @Test
  void credentialsOverPlainHttp_needTheFlag_andTheMessageHoldsNoSecret() throws Exception {
    assertThatThrownBy(
            () ->
                SearchTarget.of("http://elastic:" + PASSWORD + "@search:9200", Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--allow-credentials-over-http")
        .hasMessageNotContaining(PASSWORD);
    assertThatThrownBy(
            () ->
                SearchTarget.of(
                    "http://search:9200", Map.of("elasticsearch-api-key", PASSWORD), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining(PASSWORD);
    SearchTarget allowed =
        SearchTarget.of(
            "http://elastic:" + PASSWORD + "@search:9200",
            Map.of("allow-credentials-over-http", ""),
            Map.of());
    assertThat(allowed.address()).hasToString("http://search:9200");
    assertThat(allowed.through(4242)).hasToString("http://127.0.0.1:4242");
    assertThatThrownBy(
            () ->
                SearchTarget.of(
                    "https://search:9200",
                    Map.of("elasticsearch-user", "u", "elasticsearch-api-key", "k"),
                    Map.of(SearchTarget.PASSWORD_ENV, PASSWORD)))
        .hasMessageContaining("not both");
  }

  @Test
  void aRunId_isOnlyLettersAndDigits() {
    assertThat(new DrillNames("abc123").index()).isEqualTo("outlast-drill-abc123-orders");
    assertThat(new DrillNames("abc123").product()).isEqualTo("outlast_drill_abc123_product");
    for (String bad : List.of("", "ABC", "a-b", "a;drop", "0123456789abcdefg")) {
      assertThatThrownBy(() -> new DrillNames(bad)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(DrillNames.random().runId()).matches("[a-z0-9]{8}");
  }

  private static HttpsServer httpsServer(Path keys, List<String> seen) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keys)) {
      store.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(store, "changeit".toCharArray());
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.createContext(
        "/",
        exchange -> {
          seen.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
          byte[] out = "{}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    server.start();
    return server;
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command =
        new java.util.ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }
}
