package dev.outlast.examples.spring;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The direct path: one {@code PUT /orders/_doc/<orderId>} per order over the JDK's HTTP client, no
 * Outlast in it. A 5xx, a 429, a timeout or a refused connection is an {@link IOException}, which
 * the guard counts as an outage and the proxy answers by spilling; any other refusal is the order's
 * own fault and is thrown as {@link IllegalArgumentException}. Threadsafe.
 */
final class HttpOrderEvents implements OrderEvents {
  private final HttpClient http;
  private final URI base;
  private final String index;
  private final Duration requestTimeout;

  HttpOrderEvents(URI base, String index, Duration requestTimeout) {
    this.base = base;
    this.index = index;
    this.requestTimeout = requestTimeout;
    this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).build();
  }

  @Override
  public void placed(Order order) throws IOException {
    HttpRequest put =
        HttpRequest.newBuilder(base.resolve("/" + index + "/_doc/" + order.orderId()))
            .timeout(requestTimeout)
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(order.json()))
            .build();
    HttpResponse<String> r;
    try {
      r = http.send(put, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while storing order " + order.orderId(), e);
    }
    int status = r.statusCode();
    if (status >= 500 || status == 429) {
      throw new IOException("Elasticsearch answered HTTP " + status);
    }
    if (status >= 300) {
      throw new IllegalArgumentException(
          "Elasticsearch refused order " + order.orderId() + ": HTTP " + status);
    }
  }

  @Override
  public String toString() {
    return "HttpOrderEvents[" + base + "/" + index + "]";
  }
}
