package dev.outlast.sink.elasticsearch;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Redaction;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers a spill queue's events to Elasticsearch as documents, through the {@code _bulk} REST
 * API. Each document's {@code _id} is the event's stable id ({@code <producer id>-<sequence>}), or
 * the application's own ({@link Builder#documentId}), and the action is {@code index}, so an event
 * delivered twice (the queue delivers at least once) overwrites itself instead of making a second
 * document.
 *
 * <pre>{@code
 * ElasticsearchSink<Order> sink =
 *     ElasticsearchSink.<Order>builder(URI.create("https://search:9200"), "orders")
 *         .apiKey(System.getenv("ES_API_KEY"))
 *         .build();
 * }</pre>
 *
 * <p>Results, per event, from the bulk response's items: 2xx is {@link Outcome#ok()}; 429 (the node
 * is overloaded), 5xx, and the statuses that are about the cluster rather than the document (403:
 * an index blocked, as at the disk's flood stage, or a missing privilege; 404: a missing index the
 * cluster may not create; 408) are {@link Outcome#retry}; any other status (a mapping error, a
 * document that does not parse) is {@link Outcome#reject}, which sends the event to the queue's
 * dead-letter journal. A whole request answered 413 (larger than the cluster's {@code
 * http.max_content_length}) is split in halves and sent again, down to one document, which is then
 * rejected. Any other status that is not 2xx for the whole request (408, 429, 5xx; 401 or 403,
 * wrong credentials; 404, a wrong address or a missing index the cluster may not create; 400), a
 * timeout or a lost connection fails the stage: the queue counts it against the sink's guard,
 * health shows the answer with what to check, and the batch is sent again. None of these is
 * rejected, so that fixing the cause delivers every event instead of dead-lettering the stream.
 *
 * <p>Credentials: {@link Builder#basicAuth}, {@link Builder#apiKey}, or a user and password in the
 * address ({@code https://user:password@search:9200}), which are taken as basic authentication (the
 * JDK's client would never send them) and removed from the address, so that no {@code toString()},
 * log line or error shows them. Credentials over plain {@code http://} are refused unless {@link
 * Builder#allowCredentialsOverHttp()} says the network is trusted. For {@code https://} with a
 * private certificate authority, give {@link Builder#sslContext}.
 *
 * <p>It speaks plain HTTP with the JDK's client and Jackson: no Elasticsearch client, which refuses
 * servers that are not Elasticsearch. The tests run against OpenSearch 2.19, which serves the same
 * bulk API.
 *
 * <p>Threadsafe; holds no resources of its own beyond the HTTP client.
 *
 * @param <E> the event type
 */
public final class ElasticsearchSink<E> implements Sink<E> {
  private static final Logger log = LoggerFactory.getLogger(ElasticsearchSink.class);
  private static final byte[] NEWLINE = {'\n'};

  private final HttpClient http;
  private final URI bulkUri;
  private final String index;
  private final String actionPrefix; // {"index":{"_index":"<index>","_id":
  private final Function<? super E, byte[]> source;
  private final @Nullable Function<? super E, String> documentId;
  private final ObjectMapper json;
  private final @Nullable String authorization;
  private final Duration requestTimeout;
  private final int maxBulkBytes;
  private final int maxBatches;
  private final int maxRequests;

  // Guarded by this: bulk requests posted and not yet answered, and the ones built and waiting for
  // one of them to be answered, in the order they were built.
  private int posted;
  private final java.util.ArrayDeque<Post> waitingToPost = new java.util.ArrayDeque<>();

  private ElasticsearchSink(Builder<E> b) {
    this.json = b.json;
    this.index = b.index;
    try {
      this.actionPrefix = "{\"index\":{\"_index\":" + json.writeValueAsString(index) + ",\"_id\":";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the index name as JSON", e);
    }
    String base = b.baseUri.toString();
    this.bulkUri = URI.create((base.endsWith("/") ? base : base + "/") + "_bulk");
    this.authorization = b.authorization != null ? b.authorization : b.addressAuthorization;
    this.requestTimeout = b.requestTimeout;
    this.maxBulkBytes = b.maxBulkBytes;
    this.maxRequests = b.maxBatches > 0 ? b.maxBatches : b.documentId == null ? 2 : 1;
    // One batch more than requests on the wire, its body built while they are answered, so that it
    // goes out the moment one is (as a client posting from memory does). Not with the
    // application's ids and one request at a time: a batch built ahead would be posted even if the
    // one before it failed, and an older event of a document could then land after a newer one.
    this.maxBatches = b.documentId != null && maxRequests == 1 ? 1 : Math.min(16, maxRequests + 1);
    this.documentId = b.documentId;
    Function<? super E, byte[]> raw = b.rawJson;
    Function<? super E, ?> documents = b.documents;
    // One line per document, whatever the application's mapper does for its own output.
    ObjectWriter oneLine = json.writer().without(SerializationFeature.INDENT_OUTPUT);
    this.source =
        raw != null
            ? raw
            : e -> {
              try {
                return oneLine.writeValueAsBytes(documents.apply(e));
              } catch (JsonProcessingException ex) {
                throw new IllegalArgumentException(ex.getOriginalMessage(), ex);
              }
            };
    HttpClient given = b.http;
    if (given != null) {
      this.http = given;
    } else {
      HttpClient.Builder h = HttpClient.newBuilder().connectTimeout(b.connectTimeout);
      SSLContext ssl = b.ssl;
      if (ssl != null) {
        h.sslContext(ssl);
      }
      this.http = h.build();
    }
  }

  /**
   * A builder for a sink writing to one index.
   *
   * @param baseUri the cluster's address, for example {@code https://search:9200}
   * @param index the index the documents go to (created by the cluster on first write if it allows)
   * @param <E> the event type
   * @return a builder with the defaults
   * @throws IllegalArgumentException if the address is not {@code http} or {@code https} with a
   *     host, has a query or fragment, or a user without a password; or the index name breaks
   *     Elasticsearch's rules (lowercase, at most 255 bytes, not starting with {@code _ - +}, none
   *     of {@code \ / * ? " < > | , # :} or a space)
   */
  public static <E> Builder<E> builder(URI baseUri, String index) {
    return new Builder<>(baseUri, index);
  }

  /** {@return how many of the queue's batches it takes in flight; see the builder} */
  @Override
  public int maxBatchesInFlight() {
    return maxBatches;
  }

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<E>> batch) {
    Outcome[] outcomes = new Outcome[batch.size()];
    List<Request> requests = new ArrayList<>();
    Request current = new Request();
    for (int i = 0; i < batch.size(); i++) {
      Delivery<E> d = batch.get(i);
      byte[] doc;
      String id;
      try {
        doc = Objects.requireNonNull(source.apply(d.event()), "the document mapper returned null");
        id = id(d);
      } catch (Exception | StackOverflowError | LinkageError e) {
        // Nothing the cluster does can change this: the event cannot become a document (also when
        // the application's mapper or id function overflows the stack, cannot load a class, or
        // throws a checked exception it did not declare). Any other Error is the JVM's, not the
        // event's, and goes to the queue, which retries.
        String why = e.getMessage() != null ? e.getMessage() : e.toString();
        outcomes[i] =
            Outcome.reject("cannot make a JSON document of the event: " + Redaction.redact(why));
        continue;
      }
      byte[] action = action(id);
      if (current.bytes.size() > 0
          && current.bytes.size() + action.length + doc.length + 2 > maxBulkBytes) {
        requests.add(current);
        current = new Request();
      }
      current.add(i, action, doc);
    }
    if (current.bytes.size() > 0) {
      requests.add(current);
    }
    // One request of the batch at a time, in order: what one batch has in flight stays bounded by
    // maxBulkBytes (the queue may have maxBatchesInFlight batches in flight).
    // Set when the queue gives up on the batch (its call timed out): requests of it not yet posted
    // are dropped, so that they cannot land after the queue's resend of the same events.
    java.util.concurrent.atomic.AtomicBoolean givenUp =
        new java.util.concurrent.atomic.AtomicBoolean();
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (Request r : requests) {
      chain = chain.thenCompose(ignored -> send(r, outcomes, givenUp));
    }
    CompletableFuture<List<Outcome>> answer = chain.thenApply(ignored -> List.of(outcomes));
    var unused =
        answer.whenComplete(
            (v, t) -> {
              if (t instanceof java.util.concurrent.CancellationException) {
                givenUp.set(true);
              }
            });
    return answer;
  }

  /** The document's {@code _id}: the application's, if it gave a function, else the event's. */
  private String id(Delivery<E> d) {
    Function<? super E, String> f = documentId;
    if (f == null) {
      return d.id().toString();
    }
    String id =
        Objects.requireNonNull(f.apply(d.event()), "the document id function returned null");
    // A char is at most 3 bytes in UTF-8 (a surrogate pair, 2 chars, is 4): an id of up to 170
    // chars fits, and only a longer one is encoded to be measured, not every event's.
    int bytes = id.length() <= 170 ? id.length() : id.getBytes(StandardCharsets.UTF_8).length;
    if (bytes == 0 || bytes > 512) {
      // The cluster refuses such an id per document; saying why here is clearer than its reply.
      throw new IllegalArgumentException(
          "the document id function returned an id of "
              + bytes
              + " bytes; Elasticsearch takes 1 to 512");
    }
    return id;
  }

  /**
   * The bulk action line of one document. Only the id changes from event to event, so the rest is
   * written by Jackson once; an id with characters JSON must escape (never one of the queue's own)
   * goes through Jackson too.
   */
  private byte[] action(String id) {
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\' || c > 0x7e) {
        try {
          return (actionPrefix + json.writeValueAsString(id) + "}}")
              .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
          throw new IllegalStateException("cannot write a bulk action line", e);
        }
      }
    }
    return (actionPrefix + '"' + id + "\"}}").getBytes(StandardCharsets.UTF_8);
  }

  /** Sends one bulk request and fills in its events' outcomes. */
  private CompletableFuture<Void> send(
      Request r, Outcome[] outcomes, java.util.concurrent.atomic.AtomicBoolean givenUp) {
    HttpRequest.Builder req =
        HttpRequest.newBuilder(bulkUri)
            .timeout(requestTimeout)
            .header("Content-Type", "application/x-ndjson")
            .POST(r.bytes.publisher());
    String auth = authorization;
    if (auth != null) {
      req.header("Authorization", auth);
    }
    return post(req.build(), givenUp)
        .thenCompose(
            response -> {
              int status = response.statusCode();
              if (status == 413 && r.size() > 1) {
                // The cluster's http.max_content_length is below maxBulkBytes: halve and resend.
                Request[] halves = r.split();
                return send(halves[0], outcomes, givenUp)
                    .thenCompose(x -> send(halves[1], outcomes, givenUp));
              }
              if (status == 413) {
                r.fill(
                    outcomes,
                    Outcome.reject(
                        "the document is larger than the cluster accepts in one request (HTTP"
                            + " 413, http.max_content_length)"));
                return CompletableFuture.completedFuture(null);
              }
              if (status / 100 != 2) {
                // A whole request refused is not about one event: keep the events and fail the
                // call, so that the guard counts it and health shows the reason. Overload and
                // outages pass; a wrong address, a missing index (auto-create off) or wrong
                // credentials need someone, and retrying them quietly would hide that.
                return CompletableFuture.failedFuture(
                    new IOException(
                        "bulk request to "
                            + bulkUri
                            + " answered HTTP "
                            + status
                            + hint(status)
                            + ": "
                            + snippet(response.body())));
              }
              try {
                parse(response.body(), r, outcomes);
              } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
              }
              return CompletableFuture.completedFuture(null);
            });
  }

  /**
   * Posts a bulk request once fewer than {@code maxRequests} are unanswered, else queues it behind
   * the ones waiting; an answer (or a failure) posts the next.
   */
  private CompletableFuture<HttpResponse<byte[]>> post(
      HttpRequest request, java.util.concurrent.atomic.AtomicBoolean givenUp) {
    CompletableFuture<HttpResponse<byte[]>> answer = new CompletableFuture<>();
    Post go = new Post(request, givenUp, answer);
    boolean now;
    synchronized (this) {
      now = posted < maxRequests;
      if (now) {
        posted++;
      } else {
        waitingToPost.add(go);
      }
    }
    if (now) {
      startFrom(go);
    }
    return answer;
  }

  /** A bulk request waiting for room on the wire, and what to answer when it is done. */
  private record Post(
      HttpRequest request,
      java.util.concurrent.atomic.AtomicBoolean givenUp,
      CompletableFuture<HttpResponse<byte[]>> answer) {}

  /**
   * Starts a post that holds a room, and the next ones waiting while posts of given-up batches free
   * their room at once: a loop, not a call per post, so that many given-up posts in a row cannot
   * overflow the stack.
   */
  private void startFrom(Post first) {
    Post p = first;
    while (p != null) {
      if (!p.givenUp().get() && start(p)) {
        return; // on the wire: its answer starts the next
      }
      if (p.givenUp().get()) {
        p.answer()
            .completeExceptionally(
                new java.util.concurrent.CancellationException(
                    "not posted: the queue stopped waiting for this batch"));
      }
      p = roomFreed();
    }
  }

  /**
   * Hands a post to the client. The request's own timeout covers only the wait for the response's
   * headers (the JDK's client, before 26), so the whole exchange gets a deadline of twice that
   * here: a body that stalls after the headers must not hold the room for good.
   *
   * @return false if the client refused it on the spot (answered already; its room is free)
   */
  private boolean start(Post p) {
    CompletableFuture<HttpResponse<byte[]>> exchange;
    try {
      exchange = http.sendAsync(p.request(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (RuntimeException | Error e) {
      p.answer().completeExceptionally(e);
      return false;
    }
    var unused =
        exchange
            .copy()
            .orTimeout(requestTimeout.toNanos() * 2, TimeUnit.NANOSECONDS)
            .whenComplete(
                (r, t) -> {
                  if (t != null) {
                    exchange.cancel(true); // a stalled body: the client drops the exchange
                    p.answer().completeExceptionally(t);
                  } else {
                    p.answer().complete(r);
                  }
                  Post next = roomFreed();
                  if (next != null) {
                    startFrom(next);
                  }
                });
    return true;
  }

  /** A post's room is free: the next waiting post takes it (returned), or it is given back. */
  private @Nullable Post roomFreed() {
    synchronized (this) {
      Post next = waitingToPost.poll();
      if (next == null) {
        posted--;
      }
      return next;
    }
  }

  /** Reads the per-item results of a bulk response, in the order of the request's actions. */
  private void parse(byte[] body, Request r, Outcome[] outcomes) throws IOException {
    if (allSucceeded(body, r.size())) {
      r.fill(outcomes, Outcome.ok());
      return;
    }
    JsonNode root = json.readTree(body);
    JsonNode items = root == null ? null : root.get("items");
    if (items == null || !items.isArray() || items.size() != r.size()) {
      throw new IOException(
          "bulk response has "
              + (items == null || !items.isArray() ? "no items" : items.size() + " items")
              + " for "
              + r.size()
              + " actions: "
              + snippet(body));
    }
    for (int k = 0; k < r.size(); k++) {
      JsonNode item = items.get(k);
      JsonNode result = item.isObject() && item.size() == 1 ? item.elements().next() : null;
      int status = result == null ? 0 : result.path("status").asInt(0);
      Outcome o;
      if (status >= 200 && status < 300) {
        o = Outcome.ok();
      } else if (status == 429
          || status >= 500
          || status == 0
          || status == 403
          || status == 404
          || status == 408) {
        // About the cluster, not this document: fixing it delivers the event.
        o = Outcome.retry("HTTP " + status + ": " + error(result));
      } else {
        o = Outcome.reject("HTTP " + status + ": " + error(result));
      }
      outcomes[r.eventIndex(k)] = o;
    }
  }

  /**
   * Whether the response says that no action failed ({@code "errors":false}) and holds one item per
   * action: the usual answer, read as a stream of tokens without building a tree of 500 items
   * (which cost more CPU than building the request, on cores shared with the cluster). Anything
   * else (an action failed, fields in another order) is read whole by the caller.
   */
  private boolean allSucceeded(byte[] body, int actions) throws IOException {
    try (JsonParser p = json.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      boolean noErrors = false;
      int items = -1;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if ("errors".equals(field)) {
          if (value != JsonToken.VALUE_FALSE) {
            return false;
          }
          noErrors = true;
        } else if ("items".equals(field) && value == JsonToken.START_ARRAY && noErrors) {
          items = 0;
          JsonToken t;
          while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
              return false; // cut short: the caller's read says so
            }
            p.skipChildren();
            items++;
          }
        } else {
          p.skipChildren();
        }
      }
      return noErrors && items == actions;
    }
  }

  private static String error(@Nullable JsonNode result) {
    if (result == null) {
      return "malformed item";
    }
    JsonNode e = result.path("error");
    if (e.isMissingNode()) {
      return "no error given";
    }
    String type = e.path("type").asText("");
    String reason = e.path("reason").asText("");
    // Goes to the dead-letter journal and the logs: the cluster may quote what it was sent.
    return String.valueOf(
        Redaction.redact(type.isEmpty() && reason.isEmpty() ? e.toString() : type + ": " + reason));
  }

  /** What to check, for the whole-request answers that need someone rather than time. */
  private static String hint(int status) {
    if (status / 100 == 3) {
      // The JDK's client follows no redirect: an http address answered by an https-only node.
      return " (a redirect, which the sink does not follow: give it the address it points to)";
    }
    return switch (status) {
      case 401, 403 -> " (check the sink's credentials)";
      case 404 ->
          " (check the address, and that the index exists or may be created on first write)";
      case 400 -> " (the cluster refused the request itself; check the address and any proxy)";
      default -> "";
    };
  }

  /** The start of a response body, for messages; redacted, since a server may echo a request. */
  private static String snippet(byte[] body) {
    String s = new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
    return String.valueOf(Redaction.redact(body.length > 300 ? s + "..." : s));
  }

  @Override
  public String name() {
    return "elasticsearch " + index;
  }

  @Override
  public String toString() {
    return "ElasticsearchSink[" + bulkUri + ", index " + index + "]";
  }

  /** A request body handed to the client as it is, not copied once more. */
  private static final class Body extends ByteArrayOutputStream {
    Body() {
      super(16 << 10);
    }

    /** Called once the body is complete; nothing is written to it afterwards. */
    synchronized HttpRequest.BodyPublisher publisher() {
      return HttpRequest.BodyPublishers.ofByteArray(buf, 0, count);
    }
  }

  /** One bulk request body and which events of the batch it carries. */
  private static final class Request {
    final Body bytes = new Body();
    private int[] events = new int[16];
    private final List<byte[]> actions = new ArrayList<>();
    private final List<byte[]> docs = new ArrayList<>();

    void add(int eventIndex, byte[] action, byte[] doc) {
      if (actions.size() == events.length) {
        events = Arrays.copyOf(events, events.length * 2);
      }
      events[actions.size()] = eventIndex;
      actions.add(action);
      docs.add(doc);
      // NDJSON: each line ends in a newline, the last one too, or the cluster refuses the body.
      bytes.writeBytes(action);
      bytes.writeBytes(NEWLINE);
      bytes.writeBytes(doc);
      bytes.writeBytes(NEWLINE);
    }

    int size() {
      return actions.size();
    }

    int eventIndex(int k) {
      return events[k];
    }

    void fill(Outcome[] outcomes, Outcome o) {
      for (int k = 0; k < size(); k++) {
        outcomes[events[k]] = o;
      }
    }

    Request[] split() {
      Request a = new Request();
      Request b = new Request();
      int half = size() / 2;
      for (int k = 0; k < size(); k++) {
        (k < half ? a : b).add(events[k], actions.get(k), docs.get(k));
      }
      return new Request[] {a, b};
    }
  }

  /**
   * Settings for an {@link ElasticsearchSink}. Not threadsafe; the sink it builds is immutable.
   *
   * @param <E> the event type
   */
  public static final class Builder<E> {
    private final URI baseUri;
    private final String index;
    private ObjectMapper json = new ObjectMapper();
    private Function<? super E, ?> documents = e -> e;
    private @Nullable Function<? super E, byte[]> rawJson;
    private @Nullable Function<? super E, String> documentId;
    private @Nullable String authorization;
    // Basic authentication from the address's user information, which the address no longer holds.
    private final @Nullable String addressAuthorization;
    private boolean credentialsOverHttp;
    private @Nullable SSLContext ssl;
    private @Nullable HttpClient http;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration requestTimeout = Duration.ofSeconds(5);
    private int maxBulkBytes = 5 << 20;
    private int maxBatches; // 0: the default, which depends on whose document ids are used

    private Builder(URI baseUri, String index) {
      Objects.requireNonNull(baseUri, "baseUri");
      Objects.requireNonNull(index, "index");
      String scheme = baseUri.getScheme();
      if ((!"http".equals(scheme) && !"https".equals(scheme)) || baseUri.getHost() == null) {
        // Not echoed: an address whose host does not parse may hold a password that no pattern
        // can find (an unencoded '/' or '?' in it ends the authority early).
        throw new IllegalArgumentException(
            "baseUri must be an http or https address with a host, such as https://search:9200;"
                + " the one given (not shown, as it may hold credentials) has "
                + (baseUri.getHost() == null ? "no host that parses" : "the scheme " + scheme)
                + "; percent-encode any '/', '?', '#' or '@' in a user name or password, or"
                + " pass them with basicAuth(user, password)");
      }
      if (baseUri.getQuery() != null || baseUri.getFragment() != null) {
        throw new IllegalArgumentException(
            "baseUri must not have a query or fragment, was "
                + Redaction.redact(baseUri.toString()));
      }
      // Elasticsearch's own rules for index names, checked here rather than per event.
      if (index.isEmpty()
          || !index.equals(index.toLowerCase(java.util.Locale.ROOT))
          || index.startsWith("_")
          || index.startsWith("-")
          || index.startsWith("+")
          || index.matches(".*[\\\\/*?\"<>| ,#:].*")
          || index.getBytes(StandardCharsets.UTF_8).length > 255) {
        throw new IllegalArgumentException(
            "'"
                + index
                + "' is not a valid index name: lowercase, at most 255 bytes, not starting with"
                + " _ - +, without \\ / * ? \" < > | space , # :");
      }
      String userInfo = baseUri.getUserInfo();
      if (userInfo != null) {
        int colon = userInfo.indexOf(':');
        if (colon <= 0) {
          throw new IllegalArgumentException(
              "baseUri has a user name without a password (or a password without a user name);"
                  + " give both as https://user:password@host, or use basicAuth or apiKey");
        }
        this.addressAuthorization =
            basic(userInfo.substring(0, colon), userInfo.substring(colon + 1));
        // The JDK's client never sends user information; kept in the address, it would only
        // show the password in every toString, message and log line that names the cluster.
        String port = baseUri.getPort() < 0 ? "" : ":" + baseUri.getPort();
        String path = baseUri.getRawPath() == null ? "" : baseUri.getRawPath();
        this.baseUri = URI.create(scheme + "://" + baseUri.getHost() + port + path);
      } else {
        this.addressAuthorization = null;
        this.baseUri = baseUri;
      }
      this.index = index;
    }

    private static String basic(String user, String password) {
      return "Basic "
          + Base64.getEncoder()
              .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Turns each event into the object Jackson writes as its document; by default the event itself.
     * Replaces a {@link #rawJson} function given before.
     *
     * @param toDocument the object to write for an event; an event it throws on, or that Jackson
     *     cannot write, is rejected into the queue's dead-letter journal
     * @return this builder
     */
    public Builder<E> documents(Function<? super E, ?> toDocument) {
      this.documents = Objects.requireNonNull(toDocument, "toDocument");
      this.rawJson = null;
      return this;
    }

    /**
     * Takes each event's document as JSON text already made (UTF-8), instead of Jackson. Text that
     * is not a JSON object is rejected by the cluster, per event, into the dead-letter journal.
     * Takes precedence over {@link #documents} until that is called again.
     *
     * @param toJson the document of an event, as one JSON object; an event it throws on or returns
     *     null for is rejected into the dead-letter journal
     * @return this builder
     */
    public Builder<E> rawJson(Function<? super E, String> toJson) {
      Objects.requireNonNull(toJson, "toJson");
      this.rawJson = e -> toJson.apply(e).getBytes(StandardCharsets.UTF_8);
      return this;
    }

    /**
     * Takes each document's {@code _id} from the event (an order id) instead of the queue's event
     * id. For a service that also writes documents itself and spills them only when the cluster
     * fails ({@code @SpillOnFailure}): a write that timed out but arrived, then delivered again
     * from the queue, overwrites itself instead of making a second document. The function must give
     * the same id for the same event every time (1 to 512 bytes); an event it throws on, or returns
     * null or an unusable id for, is rejected into the dead-letter journal.
     *
     * @param id the document id of an event
     * @return this builder
     */
    public Builder<E> documentId(Function<? super E, String> id) {
      this.documentId = Objects.requireNonNull(id, "id");
      return this;
    }

    /**
     * The Jackson mapper for documents and for reading responses; a default one otherwise.
     *
     * @param mapper used as configured, except that documents are always written on one line
     * @return this builder
     */
    public Builder<E> objectMapper(ObjectMapper mapper) {
      this.json = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /**
     * HTTP basic authentication. Needs an {@code https://} address, or {@link
     * #allowCredentialsOverHttp()}. Replaces an {@link #apiKey} given before.
     *
     * @param user the user name; without ':'
     * @param password the password
     * @return this builder
     * @throws IllegalArgumentException if the user name contains ':'
     */
    public Builder<E> basicAuth(String user, String password) {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (user.contains(":")) {
        throw new IllegalArgumentException("a basic-auth user name cannot contain ':'");
      }
      this.authorization = basic(user, password);
      return this;
    }

    /**
     * Elasticsearch API-key authentication. Needs an {@code https://} address, or {@link
     * #allowCredentialsOverHttp()}. Replaces {@link #basicAuth} given before.
     *
     * @param encoded the key as Elasticsearch returns it in {@code encoded} (base64 of {@code
     *     id:api_key}); surrounding white space is dropped
     * @return this builder
     * @throws IllegalArgumentException if it is blank
     */
    public Builder<E> apiKey(String encoded) {
      Objects.requireNonNull(encoded, "encoded");
      if (encoded.isBlank()) {
        throw new IllegalArgumentException("apiKey is blank");
      }
      this.authorization = "ApiKey " + encoded.strip();
      return this;
    }

    /**
     * Lets the sink send its credentials over plain {@code http://}, where anyone on the network
     * path can read them: for a cluster reached over a network the application trusts (a sidecar on
     * localhost, a test). Without it {@link #build()} refuses credentials with an {@code http://}
     * address. The sink logs a warning once when it is built with it.
     *
     * @return this builder
     */
    public Builder<E> allowCredentialsOverHttp() {
      this.credentialsOverHttp = true;
      return this;
    }

    /**
     * The TLS settings (trust store, client certificate) for an https cluster: give one whose trust
     * store holds a private certificate authority; by default the JDK's trusted authorities.
     *
     * @param context the TLS context of the sink's own HTTP client; ignored with {@link
     *     #httpClient}
     * @return this builder
     */
    public Builder<E> sslContext(SSLContext context) {
      this.ssl = Objects.requireNonNull(context, "context");
      return this;
    }

    /**
     * An HTTP client of the application's own (proxy, executor, TLS); {@link #sslContext} and
     * {@link #connectTimeout} then do not apply.
     *
     * @param client the client to send bulk requests with; the sink never closes it
     * @return this builder
     */
    public Builder<E> httpClient(HttpClient client) {
      this.http = Objects.requireNonNull(client, "client");
      return this;
    }

    /**
     * How long a connection may take; 2 seconds by default.
     *
     * @param timeout positive; ignored with {@link #httpClient}
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder<E> connectTimeout(Duration timeout) {
      this.connectTimeout = positive(timeout, "connectTimeout");
      return this;
    }

    /**
     * How long one bulk request may wait for the response's headers before it is given up (and its
     * events retried); 5 seconds by default. The whole exchange, the response's body included, is
     * given twice this. Keep it below the sink guard's call timeout, which bounds the whole batch.
     *
     * @param timeout positive
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder<E> requestTimeout(Duration timeout) {
      this.requestTimeout = positive(timeout, "requestTimeout");
      return this;
    }

    /**
     * The largest bulk request body; a batch larger than this goes as several requests, one after
     * another. 5 MiB by default (Elasticsearch's guidance for bulk sizes). A single document larger
     * than this still goes, alone in its request.
     *
     * @param bytes at least 1024
     * @return this builder
     * @throws IllegalArgumentException if it is below 1024
     */
    public Builder<E> maxBulkBytes(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("maxBulkBytes must be at least 1024, was " + bytes);
      }
      this.maxBulkBytes = bytes;
      return this;
    }

    /**
     * How many bulk requests the sink has in flight while the queue drains its backlog, so that the
     * cluster indexes one while the next is on its way; the sink takes one batch more from the
     * queue ({@code Sink.maxBatchesInFlight()}) and builds its request meanwhile, except with
     * {@link #documentId} and 1 request. By default 2 when documents are identified by the event's
     * id, whose repeats overwrite themselves whatever the order they land in; and 1 with {@link
     * #documentId}, because two events of the same document in requests in flight at once could
     * land in either order and leave the older one. Give more than 1 with your own ids only if no
     * two events of one document are close together in the queue.
     *
     * @param batches in [1, 16]
     * @return this builder
     * @throws IllegalArgumentException if it is out of range
     */
    public Builder<E> maxBatchesInFlight(int batches) {
      if (batches < 1 || batches > 16) {
        throw new IllegalArgumentException("maxBatchesInFlight must be in [1, 16], was " + batches);
      }
      this.maxBatches = batches;
      return this;
    }

    private static Duration positive(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive, was " + d);
      }
      return d;
    }

    /**
     * Builds the sink. Logs a warning if it sends credentials over plain {@code http://}.
     *
     * @return the sink
     * @throws IllegalStateException if credentials are given both in the address and by {@link
     *     #basicAuth} or {@link #apiKey}, or with an {@code http://} address without {@link
     *     #allowCredentialsOverHttp()}
     */
    public ElasticsearchSink<E> build() {
      if (addressAuthorization != null && authorization != null) {
        throw new IllegalStateException(
            "credentials are given twice, in baseUri and by basicAuth or apiKey: give them once");
      }
      boolean credentials = addressAuthorization != null || authorization != null;
      if (credentials && "http".equals(baseUri.getScheme())) {
        if (!credentialsOverHttp) {
          throw new IllegalStateException(
              "the sink has credentials and a plain http address ("
                  + baseUri
                  + "): anyone on the network path could read them. Use https://, or call"
                  + " allowCredentialsOverHttp() if the network is trusted (localhost, a test)");
        }
        log.warn(
            "the Elasticsearch sink for {} sends its credentials over plain http"
                + " (allowCredentialsOverHttp): use https unless the network is trusted",
            baseUri);
      }
      return new ElasticsearchSink<>(this);
    }
  }
}
