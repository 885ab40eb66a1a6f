package dev.outlast.examples.drill;

import dev.outlast.core.RecoveryProbe;
import dev.outlast.sink.elasticsearch.ElasticsearchSink;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * The drill's Elasticsearch: where it is, how to log in, and how to trust it. The service reaches
 * it through the drill's fault proxy on {@code 127.0.0.1}, so for {@code https} the certificate is
 * checked against the cluster's own host name, not the proxy's address.
 *
 * <p>Credentials: a user and password in the address ({@code https://user:pass@host:9200}), {@code
 * --elasticsearch-user} with {@code --elasticsearch-password} (or the environment variable {@code
 * OUTLAST_DRILL_ES_PASSWORD}), or {@code --elasticsearch-api-key} (or {@code
 * OUTLAST_DRILL_ES_API_KEY}). Over plain {@code http} they are refused unless {@code
 * --allow-credentials-over-http} is given. {@code --elasticsearch-ca=FILE} trusts the PEM
 * certificates in FILE (a private authority) instead of the JDK's.
 *
 * <p>Immutable and threadsafe.
 */
final class SearchTarget {
  static final String PASSWORD_ENV = "OUTLAST_DRILL_ES_PASSWORD";
  static final String API_KEY_ENV = "OUTLAST_DRILL_ES_API_KEY";

  private final URI address;
  private final @Nullable String user;
  private final @Nullable String password;
  private final @Nullable String apiKey;
  private final @Nullable SSLContext tls;
  private final boolean credentialsOverHttp;

  private SearchTarget(
      URI address,
      @Nullable String user,
      @Nullable String password,
      @Nullable String apiKey,
      @Nullable SSLContext tls,
      boolean credentialsOverHttp) {
    this.address = address;
    this.user = user;
    this.password = password;
    this.apiKey = apiKey;
    this.tls = tls;
    this.credentialsOverHttp = credentialsOverHttp;
  }

  /** A server the drill started: plain http, no credentials. */
  static SearchTarget local(URI address) {
    return new SearchTarget(address, null, null, null, null, false);
  }

  /**
   * The user's cluster, from the drill's options and the environment.
   *
   * @throws IllegalArgumentException if the options do not make sense together
   */
  static SearchTarget of(String url, Map<String, String> options, Map<String, String> env)
      throws IOException, GeneralSecurityException {
    URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--elasticsearch is not an address");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if ((!scheme.equals("http") && !scheme.equals("https")) || u.getHost() == null) {
      throw new IllegalArgumentException(
          "--elasticsearch must be an http:// or https:// address such as https://search:9200");
    }
    String user = options.get("elasticsearch-user");
    String password = options.getOrDefault("elasticsearch-password", env.get(PASSWORD_ENV));
    String apiKey = options.getOrDefault("elasticsearch-api-key", env.get(API_KEY_ENV));
    String info = u.getUserInfo();
    if (info != null) {
      int colon = info.indexOf(':');
      if (colon <= 0 || user != null) {
        throw new IllegalArgumentException(
            "--elasticsearch: give a user and password once, as https://user:password@host or"
                + " with --elasticsearch-user");
      }
      user = info.substring(0, colon);
      password = info.substring(colon + 1);
    }
    if (user != null && password == null) {
      throw new IllegalArgumentException(
          "--elasticsearch-user needs --elasticsearch-password (or " + PASSWORD_ENV + ")");
    }
    if (user == null) {
      password = null; // a password from the environment alone means nothing
    }
    if (apiKey != null && user != null) {
      throw new IllegalArgumentException("give a user and password or an API key, not both");
    }
    boolean overHttp = options.containsKey("allow-credentials-over-http");
    if ((user != null || apiKey != null) && scheme.equals("http") && !overHttp) {
      throw new IllegalArgumentException(
          "Elasticsearch credentials over plain http could be read on the network: use https,"
              + " or --allow-credentials-over-http if the network is trusted");
    }
    String port = u.getPort() < 0 ? "" : ":" + u.getPort();
    URI plain = URI.create(scheme + "://" + u.getHost() + port);
    SSLContext tls = null;
    if (scheme.equals("https")) {
      String ca = options.get("elasticsearch-ca");
      tls = checkingHost(u.getHost(), ca == null ? null : Path.of(ca));
    }
    return new SearchTarget(
        plain, user, password, apiKey == null ? null : apiKey.strip(), tls, overHttp);
  }

  /** The cluster's own address (no credentials in it): for the drill's set-up and clean-up. */
  URI address() {
    return address;
  }

  /** The same cluster at the proxy's port on this machine: for the service. */
  URI through(int proxyPort) {
    return URI.create(address.getScheme() + "://127.0.0.1:" + proxyPort);
  }

  /** The host and port to point the proxy at. */
  String host() {
    return address.getHost();
  }

  int port() {
    return address.getPort() >= 0
        ? address.getPort()
        : address.getScheme().equals("https") ? 443 : 9200;
  }

  /** The sink, with this cluster's credentials and trust, writing to {@code base}. */
  ElasticsearchSink.Builder<String> sink(URI base, String index) {
    ElasticsearchSink.Builder<String> b = ElasticsearchSink.builder(base, index);
    String u = user;
    String p = password;
    String k = apiKey;
    if (u != null && p != null) {
      b.basicAuth(u, p);
    } else if (k != null) {
      b.apiKey(k);
    }
    if (credentialsOverHttp) {
      b.allowCredentialsOverHttp();
    }
    SSLContext t = tls;
    if (t != null) {
      b.sslContext(t);
    }
    return b;
  }

  /**
   * A check that the index at {@code base} can take writes: the cluster reports its health, at
   * least yellow, within a second. The service's Elasticsearch guard probes with it, and the drill
   * checks the server with it.
   */
  RecoveryProbe indexCheck(URI base, String index) {
    HttpClient http = client(Duration.ofSeconds(1));
    String path = "/_cluster/health/" + index + "?wait_for_status=yellow&timeout=1s";
    return new RecoveryProbe() {
      @Override
      public void check() throws IOException, InterruptedException {
        HttpResponse<String> r = send(http, base, "GET", path, "", Duration.ofSeconds(2));
        if (r.statusCode() != 200) {
          throw new IOException("the index's health: HTTP " + r.statusCode());
        }
      }

      @Override
      public String toString() {
        return "the health of index " + index;
      }
    };
  }

  /** An HTTP client for the drill's own requests (index, search, clean-up). */
  HttpClient client(Duration connectTimeout) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(connectTimeout);
    SSLContext t = tls;
    if (t != null) {
      b.sslContext(t);
    }
    return b.build();
  }

  /** Sends one request to {@code base} (the cluster, or the proxy) with the credentials. */
  HttpResponse<String> send(
      HttpClient http, URI base, String method, String path, String body, Duration timeout)
      throws IOException, InterruptedException {
    HttpRequest.Builder r =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .method(
                method,
                body.isEmpty()
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    String u = user;
    String p = password;
    String k = apiKey;
    if (u != null && p != null) {
      r.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder().encodeToString((u + ":" + p).getBytes(StandardCharsets.UTF_8)));
    } else if (k != null) {
      r.header("Authorization", "ApiKey " + k);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * TLS that trusts the JDK's authorities, or only the certificates in {@code ca}, and checks the
   * certificate against {@code host} whatever address the connection went to (the proxy's).
   */
  static SSLContext checkingHost(String host, @Nullable Path ca)
      throws IOException, GeneralSecurityException {
    KeyStore trusted = null;
    if (ca != null) {
      trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      Collection<? extends Certificate> certs;
      try (InputStream in = Files.newInputStream(ca)) {
        certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("--elasticsearch-ca: no certificate in " + ca);
      }
      int i = 0;
      for (Certificate c : certs) {
        trusted.setCertificateEntry("ca-" + i++, c);
      }
    }
    TrustManagerFactory f =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(trusted);
    X509TrustManager chain = null;
    for (TrustManager m : f.getTrustManagers()) {
      if (m instanceof X509TrustManager x) {
        chain = x;
      }
    }
    if (chain == null) {
      throw new GeneralSecurityException("no X.509 trust manager");
    }
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new TrustManager[] {new HostChecking(host, chain)}, null);
    return tls;
  }

  /**
   * Checks the chain with the JDK's own validation, then the server certificate's subject
   * alternative names against the cluster's host name (RFC 6125: DNS names, a wildcard only as the
   * whole leftmost label; IP addresses for an IP host). An X509ExtendedTrustManager, so that the
   * JDK does not check the name again against the proxy's 127.0.0.1.
   */
  static final class HostChecking extends X509ExtendedTrustManager {
    private final String host;
    private final X509TrustManager chain;

    HostChecking(String host, X509TrustManager chain) {
      this.host = host.toLowerCase(Locale.ROOT);
      this.chain = chain;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType)
        throws CertificateException {
      chain.checkServerTrusted(certs, authType);
      if (certs.length == 0 || !matches(certs[0])) {
        throw new CertificateException(
            "the certificate of the Elasticsearch cluster is not for " + host);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType, Socket socket)
        throws CertificateException {
      checkServerTrusted(certs, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
        throws CertificateException {
      checkServerTrusted(certs, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType)
        throws CertificateException {
      throw new CertificateException("the drill is never a TLS server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("the drill is never a TLS server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("the drill is never a TLS server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return chain.getAcceptedIssuers();
    }

    private boolean matches(X509Certificate cert) throws CertificateParsingException {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names == null) {
        return false;
      }
      InetAddress ip = literal(host);
      for (List<?> n : names) {
        int type = (Integer) n.get(0);
        String value = String.valueOf(n.get(1)).toLowerCase(Locale.ROOT);
        if (ip != null && type == 7 && ip.equals(literal(value))) {
          return true;
        }
        if (ip == null && type == 2 && dnsMatches(value)) {
          return true;
        }
      }
      return false;
    }

    private boolean dnsMatches(String name) {
      if (name.equals(host)) {
        return true;
      }
      if (name.startsWith("*.") && name.indexOf('*', 1) < 0) {
        int dot = host.indexOf('.');
        return dot > 0 && host.substring(dot).equals(name.substring(1));
      }
      return false;
    }

    /** The address if {@code s} is an IP literal; never a name lookup. */
    private static @Nullable InetAddress literal(String s) {
      String bare = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
      boolean v4 = bare.matches("[0-9.]+");
      boolean v6 = bare.contains(":") && bare.matches("[0-9a-f:.]+");
      if (!v4 && !v6) {
        return null;
      }
      try {
        return InetAddress.getByName(bare); // a literal: parsed, not resolved
      } catch (UnknownHostException e) {
        return null;
      }
    }
  }
}
