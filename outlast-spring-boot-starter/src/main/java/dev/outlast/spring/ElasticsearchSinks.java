package dev.outlast.spring;

import dev.outlast.sink.elasticsearch.ElasticsearchSink;
import java.net.URI;
import java.time.Duration;
import org.springframework.util.unit.DataSize;

/** The Elasticsearch sink of a queue. Loaded only when its module is on the class path. */
final class ElasticsearchSinks {
  private ElasticsearchSinks() {}

  static ElasticsearchSink<Object> build(
      String queue, OutlastProperties.ElasticsearchProperties p) {
    String at = "outlast.queue." + queue + ".elasticsearch.";
    URI url = p.getUrl();
    String index = p.getIndex();
    if (url == null || index == null) {
      throw new OutlastConfigurationException(
          at + (url == null ? "url" : "index") + " is not set",
          "set " + at + "url (https://search:9200) and " + at + "index");
    }
    try {
      ElasticsearchSink.Builder<Object> b = ElasticsearchSink.builder(url, index);
      String user = p.getUsername();
      String password = p.getPassword();
      if (user != null || password != null) {
        if (user == null || password == null) {
          throw new OutlastConfigurationException(
              at + "username and " + at + "password go together", "set both, or neither");
        }
        b.basicAuth(user, password);
      }
      String apiKey = p.getApiKey();
      if (apiKey != null) {
        b.apiKey(apiKey);
      }
      if (p.isAllowCredentialsOverHttp()) {
        b.allowCredentialsOverHttp();
      }
      Duration connect = p.getConnectTimeout();
      if (connect != null) {
        b.connectTimeout(connect);
      }
      Duration request = p.getRequestTimeout();
      if (request != null) {
        b.requestTimeout(request);
      }
      DataSize bulk = p.getMaxBulkBytes();
      if (bulk != null) {
        b.maxBulkBytes((int) Math.min(Integer.MAX_VALUE, bulk.toBytes()));
      }
      return b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new OutlastConfigurationException(
          "the Elasticsearch sink of outlast.queue."
              + queue
              + " cannot be built: "
              + e.getMessage(),
          "change " + at + "* as the message says",
          e);
    }
  }
}
