package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class OpenSearchServerTest extends TestServerContract<OpenSearchServer> {
  private static final Pattern VALUE = Pattern.compile("\"v\"\\s*:\\s*\"([^\"]*)\"");

  @Override
  OpenSearchServer launch() {
    return OpenSearchServer.launch();
  }

  private static HttpResponse<String> send(HttpRequest.Builder request)
      throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(CLIENT_TIMEOUT).build();
    return client.send(
        request.timeout(CLIENT_TIMEOUT).header("Content-Type", "application/json").build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Bulk test documents live in their own index. */
  private static String index(String key) {
    return key.length() == 1 ? "bulk" : "kit";
  }

  @Override
  void write(OpenSearchServer os, String key, String value) throws Exception {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(
                    URI.create(os.httpUrl() + "/" + index(key) + "/_doc/" + key + "?refresh=true"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"v\":\"" + value + "\"}")));
    if (response.statusCode() / 100 != 2) {
      throw new IOException("index failed: " + response.statusCode() + " " + response.body());
    }
  }

  @Override
  String read(OpenSearchServer os, String key) throws Exception {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(URI.create(os.httpUrl() + "/" + index(key) + "/_doc/" + key))
                .GET());
    Matcher m = VALUE.matcher(response.body());
    if (response.statusCode() != 200 || !m.find()) {
      throw new IOException("get failed: " + response.statusCode() + " " + response.body());
    }
    return m.group(1);
  }

  @Test
  void bulkApi_isServed() throws Exception {
    try (OpenSearchServer os = launch()) {
      String ndjson =
          """
          {"index":{"_index":"bulk","_id":"a"}}
          {"v":"1"}
          {"index":{"_index":"bulk","_id":"b"}}
          {"v":"2"}
          """;
      HttpResponse<String> response =
          send(
              HttpRequest.newBuilder(URI.create(os.httpUrl() + "/_bulk?refresh=true"))
                  .POST(HttpRequest.BodyPublishers.ofString(ndjson)));
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("\"errors\":false");
      assertThat(read(os, "a")).isEqualTo("1");
    }
  }
}
