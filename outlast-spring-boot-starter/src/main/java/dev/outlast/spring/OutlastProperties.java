package dev.outlast.spring;

import dev.outlast.core.health.Importance;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * The {@code outlast.*} properties, as the starter binds them. Every name under {@code outlast.}
 * must be one of these: a misspelt one fails the application's start, naming the names there are.
 *
 * <p>Guards ({@code outlast.guard.<name>.*}) and spill queues ({@code outlast.queue.<name>.*}) are
 * made from them; the settings of the annotations ({@code outlast.cache.*}, {@code
 * outlast.guarded.*}, {@code outlast.fallback.*}, {@code outlast.spill.*}) go as they are to {@link
 * dev.outlast.core.annotation.Outlast.Builder#properties(Map)}, which checks them.
 *
 * <p>Bound once at start-up; not meant to be used by applications. Not threadsafe.
 */
@ConfigurationProperties(prefix = "outlast")
public class OutlastProperties {
  /** Whether Outlast is configured at all; false leaves every Outlast annotation unwired. */
  private boolean enabled = true;

  /**
   * Guards, one per dependency, by the name that {@code @Guarded("mysql")} and queues use. A guard
   * with every default still needs one property, e.g. {@code outlast.guard.mysql.preset=database}.
   */
  private Map<String, GuardProperties> guard = new LinkedHashMap<>();

  /** Spill queues by name, the name {@code @SpillOnFailure(queue = "orders")} uses. */
  private Map<String, QueueProperties> queue = new LinkedHashMap<>();

  /** Health settings. */
  private HealthProperties health = new HealthProperties();

  /**
   * Settings of {@code @CachedQuery} caches, by cache name: {@code
   * outlast.cache.<cache>.fresh-for}, {@code .stale-while-revalidate}, {@code .serve-stale-for},
   * {@code .maximum-size}, {@code .tags}.
   */
  private Map<String, String> cache = new LinkedHashMap<>();

  /** Replaces {@code @Guarded}: {@code outlast.guarded.<Interface>.<method>.dependency}. */
  private Map<String, String> guarded = new LinkedHashMap<>();

  /**
   * Replaces {@code @ReadFallback}: {@code outlast.fallback.<Interface>.<method>.method}, {@code
   * .source}, {@code .dependency}.
   */
  private Map<String, String> fallback = new LinkedHashMap<>();

  /** Replaces {@code @SpillOnFailure}: {@code outlast.spill.<Interface>.<method>.queue}. */
  private Map<String, String> spill = new LinkedHashMap<>();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Map<String, GuardProperties> getGuard() {
    return guard;
  }

  public void setGuard(Map<String, GuardProperties> guard) {
    this.guard = guard;
  }

  public Map<String, QueueProperties> getQueue() {
    return queue;
  }

  public void setQueue(Map<String, QueueProperties> queue) {
    this.queue = queue;
  }

  public HealthProperties getHealth() {
    return health;
  }

  public void setHealth(HealthProperties health) {
    this.health = health;
  }

  public Map<String, String> getCache() {
    return cache;
  }

  public void setCache(Map<String, String> cache) {
    this.cache = cache;
  }

  public Map<String, String> getGuarded() {
    return guarded;
  }

  public void setGuarded(Map<String, String> guarded) {
    this.guarded = guarded;
  }

  public Map<String, String> getFallback() {
    return fallback;
  }

  public void setFallback(Map<String, String> fallback) {
    this.fallback = fallback;
  }

  public Map<String, String> getSpill() {
    return spill;
  }

  public void setSpill(Map<String, String> spill) {
    this.spill = spill;
  }

  /** The annotation settings, as {@code outlast.<kind>.<name>.<attribute>} keys. */
  Map<String, String> annotationSettings() {
    Map<String, String> all = new LinkedHashMap<>();
    cache.forEach((k, v) -> all.put("outlast.cache." + k, v));
    guarded.forEach((k, v) -> all.put("outlast.guarded." + k, v));
    fallback.forEach((k, v) -> all.put("outlast.fallback." + k, v));
    spill.forEach((k, v) -> all.put("outlast.spill." + k, v));
    return all;
  }

  /** Which presets a guard starts from. */
  public enum Preset {
    /** {@code GuardConfig.database()}: 2 s calls, one retry. */
    DATABASE,
    /** {@code GuardConfig.broker()}: 10 s calls, 5 s open wait, no retry. */
    BROKER
  }

  /** One guard: {@code outlast.guard.<name>.*}. Values not set keep the preset's. */
  public static class GuardProperties {
    /** The preset the other values change: database (default) or broker. */
    private Preset preset = Preset.DATABASE;

    /** How long a call may take, retries included. */
    private @Nullable Duration callTimeout;

    /** The failure percentage (1-100) at which the breaker opens. */
    private @Nullable Float failureRateThreshold;

    /** The number of latest calls the failure rate is computed over. */
    private @Nullable Integer slidingWindow;

    /** The number of calls needed before the breaker may open. */
    private @Nullable Integer minimumCalls;

    /** How long the breaker stays open the first time. */
    private @Nullable Duration openWait;

    /** The longest the breaker stays open after repeated failed probes. */
    private @Nullable Duration maxOpenWait;

    /** How many probe calls a half-open breaker lets through. */
    private @Nullable Integer probes;

    /** How many times a call is tried in all (1: no retry). */
    private @Nullable Integer maxAttempts;

    /** The wait before the first retry. */
    private @Nullable Duration retryBackoff;

    /** The longest wait between two attempts. */
    private @Nullable Duration maxRetryBackoff;

    /** The random spread of every wait, 0 to 1. */
    private @Nullable Double jitter;

    /** How many calls may be in flight at once; 0 for no limit. */
    private @Nullable Integer maxConcurrentCalls;

    /** Whether a call past its timeout is interrupted. */
    private @Nullable Boolean interruptOnTimeout;

    /** How often the recovery probe runs while the breaker is not closed. */
    private @Nullable Duration probeInterval;

    /**
     * A check that closes the breaker as soon as the dependency answers, without waiting for
     * traffic: {@code jdbc} (the application's one DataSource), {@code jdbc:<DataSource bean
     * name>}, or {@code none} (default).
     */
    private String recoveryProbe = "none";

    /**
     * The name of a {@code FailureClassifier} bean deciding which failures count; by default
     * infrastructure failures (connection refused, timeouts, SQLState 08...).
     */
    private @Nullable String classifier;

    /**
     * How much the service depends on it, for health and readiness: dependent (default) or core. A
     * core guard takes the pod out of readiness while its breaker is open, so it needs a {@code
     * recovery-probe}: without one the breaker closes only on a call, which a pod that is not ready
     * does not get.
     */
    private Importance importance = Importance.DEPENDENT;

    public Preset getPreset() {
      return preset;
    }

    public void setPreset(Preset preset) {
      this.preset = preset;
    }

    public @Nullable Duration getCallTimeout() {
      return callTimeout;
    }

    public void setCallTimeout(@Nullable Duration callTimeout) {
      this.callTimeout = callTimeout;
    }

    public @Nullable Float getFailureRateThreshold() {
      return failureRateThreshold;
    }

    public void setFailureRateThreshold(@Nullable Float failureRateThreshold) {
      this.failureRateThreshold = failureRateThreshold;
    }

    public @Nullable Integer getSlidingWindow() {
      return slidingWindow;
    }

    public void setSlidingWindow(@Nullable Integer slidingWindow) {
      this.slidingWindow = slidingWindow;
    }

    public @Nullable Integer getMinimumCalls() {
      return minimumCalls;
    }

    public void setMinimumCalls(@Nullable Integer minimumCalls) {
      this.minimumCalls = minimumCalls;
    }

    public @Nullable Duration getOpenWait() {
      return openWait;
    }

    public void setOpenWait(@Nullable Duration openWait) {
      this.openWait = openWait;
    }

    public @Nullable Duration getMaxOpenWait() {
      return maxOpenWait;
    }

    public void setMaxOpenWait(@Nullable Duration maxOpenWait) {
      this.maxOpenWait = maxOpenWait;
    }

    public @Nullable Integer getProbes() {
      return probes;
    }

    public void setProbes(@Nullable Integer probes) {
      this.probes = probes;
    }

    public @Nullable Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(@Nullable Integer maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    public @Nullable Duration getRetryBackoff() {
      return retryBackoff;
    }

    public void setRetryBackoff(@Nullable Duration retryBackoff) {
      this.retryBackoff = retryBackoff;
    }

    public @Nullable Duration getMaxRetryBackoff() {
      return maxRetryBackoff;
    }

    public void setMaxRetryBackoff(@Nullable Duration maxRetryBackoff) {
      this.maxRetryBackoff = maxRetryBackoff;
    }

    public @Nullable Double getJitter() {
      return jitter;
    }

    public void setJitter(@Nullable Double jitter) {
      this.jitter = jitter;
    }

    public @Nullable Integer getMaxConcurrentCalls() {
      return maxConcurrentCalls;
    }

    public void setMaxConcurrentCalls(@Nullable Integer maxConcurrentCalls) {
      this.maxConcurrentCalls = maxConcurrentCalls;
    }

    public @Nullable Boolean getInterruptOnTimeout() {
      return interruptOnTimeout;
    }

    public void setInterruptOnTimeout(@Nullable Boolean interruptOnTimeout) {
      this.interruptOnTimeout = interruptOnTimeout;
    }

    public @Nullable Duration getProbeInterval() {
      return probeInterval;
    }

    public void setProbeInterval(@Nullable Duration probeInterval) {
      this.probeInterval = probeInterval;
    }

    public String getRecoveryProbe() {
      return recoveryProbe;
    }

    public void setRecoveryProbe(String recoveryProbe) {
      this.recoveryProbe = recoveryProbe;
    }

    public @Nullable String getClassifier() {
      return classifier;
    }

    public void setClassifier(@Nullable String classifier) {
      this.classifier = classifier;
    }

    public Importance getImportance() {
      return importance;
    }

    public void setImportance(Importance importance) {
      this.importance = importance;
    }
  }

  /** When a queue's events go through its journal. */
  public enum QueueMode {
    /** Every event is journaled first, then delivered (default). */
    WRITE_AHEAD,
    /** Straight to the sink while it is healthy; journaled while it is not. */
    SPILL_ON_FAILURE
  }

  /** What an accepted event survives. */
  public enum QueueDurability {
    /** The process dying ({@code kill -9}); default. */
    PROCESS_CRASH,
    /** The machine losing power: synced to disk in groups. */
    POWER_LOSS
  }

  /** What publish does when the journal is full. */
  public enum WhenFull {
    /** Waits up to {@code full-wait} for room, then fails (default). */
    BLOCK,
    /** Fails at once. */
    FAIL
  }

  /** One spill queue: {@code outlast.queue.<name>.*}. Values not set keep the queue's defaults. */
  public static class QueueProperties {
    /** Where the journal lives (created, private to the process owner). Required. */
    private @Nullable Path directory;

    /**
     * The guard of the sink, from {@code outlast.guard.*} or a Guard bean; by default a guard of
     * the queue's own, named as the queue, with the broker preset.
     */
    private @Nullable String guard;

    /** write-ahead (default) or spill-on-failure. */
    private QueueMode mode = QueueMode.WRITE_AHEAD;

    /** process-crash (default) or power-loss. */
    private QueueDurability durability = QueueDurability.PROCESS_CRASH;

    /** The most the journal may take on disk (default 1GB). */
    private @Nullable DataSize maxDiskBytes;

    /** Free space the queue leaves on the file system (default 256MB). */
    private @Nullable DataSize minFreeDiskBytes;

    /** The largest encoded event accepted (default 1MB). */
    private @Nullable DataSize maxEventBytes;

    /** How big a journal segment grows before the next one starts (default 64MB). */
    private @Nullable DataSize segmentBytes;

    /** Events per delivery (default 500). */
    private @Nullable Integer batchSize;

    /** The most events per second the drainer sends; 0 (default) for no limit. */
    private @Nullable Double drainRate;

    /** The wait after a failed delivery (default 200ms), doubling up to max-retry-backoff. */
    private @Nullable Duration retryBackoff;

    /** The longest wait after failed deliveries (default 30s). */
    private @Nullable Duration maxRetryBackoff;

    /** block (default) or fail, when the journal is full. */
    private WhenFull whenFull = WhenFull.BLOCK;

    /** How long publish waits for room when full and when-full is block (default 5s). */
    private Duration fullWait = Duration.ofSeconds(5);

    /** The producer id; by default one is made and kept in the directory. */
    private @Nullable String producerId;

    /** The name of a {@code javax.crypto.SecretKey} bean that seals the journal (AES-GCM). */
    private @Nullable String encryptionKey;

    /** The name of a {@code dev.outlast.core.spi.Codec} bean; by default the one Codec bean. */
    private @Nullable String codec;

    /**
     * Where events go: {@code elasticsearch}, {@code pulsar} (configured below), or the name of a
     * {@code dev.outlast.buffer.spi.Sink} bean. Required.
     */
    private @Nullable String sink;

    /**
     * How much the service depends on it, for health and readiness: dependent (default) or core.
     */
    private Importance importance = Importance.DEPENDENT;

    /** The Elasticsearch sink, when sink is elasticsearch. */
    private ElasticsearchProperties elasticsearch = new ElasticsearchProperties();

    /** The Pulsar sink, when sink is pulsar. */
    private PulsarProperties pulsar = new PulsarProperties();

    public @Nullable Path getDirectory() {
      return directory;
    }

    public void setDirectory(@Nullable Path directory) {
      this.directory = directory;
    }

    public @Nullable String getGuard() {
      return guard;
    }

    public void setGuard(@Nullable String guard) {
      this.guard = guard;
    }

    public QueueMode getMode() {
      return mode;
    }

    public void setMode(QueueMode mode) {
      this.mode = mode;
    }

    public QueueDurability getDurability() {
      return durability;
    }

    public void setDurability(QueueDurability durability) {
      this.durability = durability;
    }

    public @Nullable DataSize getMaxDiskBytes() {
      return maxDiskBytes;
    }

    public void setMaxDiskBytes(@Nullable DataSize maxDiskBytes) {
      this.maxDiskBytes = maxDiskBytes;
    }

    public @Nullable DataSize getMinFreeDiskBytes() {
      return minFreeDiskBytes;
    }

    public void setMinFreeDiskBytes(@Nullable DataSize minFreeDiskBytes) {
      this.minFreeDiskBytes = minFreeDiskBytes;
    }

    public @Nullable DataSize getMaxEventBytes() {
      return maxEventBytes;
    }

    public void setMaxEventBytes(@Nullable DataSize maxEventBytes) {
      this.maxEventBytes = maxEventBytes;
    }

    public @Nullable DataSize getSegmentBytes() {
      return segmentBytes;
    }

    public void setSegmentBytes(@Nullable DataSize segmentBytes) {
      this.segmentBytes = segmentBytes;
    }

    public @Nullable Integer getBatchSize() {
      return batchSize;
    }

    public void setBatchSize(@Nullable Integer batchSize) {
      this.batchSize = batchSize;
    }

    public @Nullable Double getDrainRate() {
      return drainRate;
    }

    public void setDrainRate(@Nullable Double drainRate) {
      this.drainRate = drainRate;
    }

    public @Nullable Duration getRetryBackoff() {
      return retryBackoff;
    }

    public void setRetryBackoff(@Nullable Duration retryBackoff) {
      this.retryBackoff = retryBackoff;
    }

    public @Nullable Duration getMaxRetryBackoff() {
      return maxRetryBackoff;
    }

    public void setMaxRetryBackoff(@Nullable Duration maxRetryBackoff) {
      this.maxRetryBackoff = maxRetryBackoff;
    }

    public WhenFull getWhenFull() {
      return whenFull;
    }

    public void setWhenFull(WhenFull whenFull) {
      this.whenFull = whenFull;
    }

    public Duration getFullWait() {
      return fullWait;
    }

    public void setFullWait(Duration fullWait) {
      this.fullWait = fullWait;
    }

    public @Nullable String getProducerId() {
      return producerId;
    }

    public void setProducerId(@Nullable String producerId) {
      this.producerId = producerId;
    }

    public @Nullable String getEncryptionKey() {
      return encryptionKey;
    }

    public void setEncryptionKey(@Nullable String encryptionKey) {
      this.encryptionKey = encryptionKey;
    }

    public @Nullable String getCodec() {
      return codec;
    }

    public void setCodec(@Nullable String codec) {
      this.codec = codec;
    }

    public @Nullable String getSink() {
      return sink;
    }

    public void setSink(@Nullable String sink) {
      this.sink = sink;
    }

    public Importance getImportance() {
      return importance;
    }

    public void setImportance(Importance importance) {
      this.importance = importance;
    }

    public ElasticsearchProperties getElasticsearch() {
      return elasticsearch;
    }

    public void setElasticsearch(ElasticsearchProperties elasticsearch) {
      this.elasticsearch = elasticsearch;
    }

    public PulsarProperties getPulsar() {
      return pulsar;
    }

    public void setPulsar(PulsarProperties pulsar) {
      this.pulsar = pulsar;
    }
  }

  /** {@code outlast.queue.<name>.elasticsearch.*}: the shipped Elasticsearch sink. */
  public static class ElasticsearchProperties {
    /** The cluster's address, e.g. https://search:9200. Required. */
    private @Nullable URI url;

    /** The index the documents go to. Required. */
    private @Nullable String index;

    /** Basic authentication user (with password). */
    private @Nullable String username;

    /** Basic authentication password. */
    private @Nullable String password;

    /** An API key, as Elasticsearch returns it in "encoded". */
    private @Nullable String apiKey;

    /** Lets credentials go over plain http (a trusted network only). */
    private boolean allowCredentialsOverHttp;

    /** How long a connection may take (default 2s). */
    private @Nullable Duration connectTimeout;

    /** How long one bulk request may take (default 5s). */
    private @Nullable Duration requestTimeout;

    /** The largest bulk request body (default 5MB). */
    private @Nullable DataSize maxBulkBytes;

    public @Nullable URI getUrl() {
      return url;
    }

    public void setUrl(@Nullable URI url) {
      this.url = url;
    }

    public @Nullable String getIndex() {
      return index;
    }

    public void setIndex(@Nullable String index) {
      this.index = index;
    }

    public @Nullable String getUsername() {
      return username;
    }

    public void setUsername(@Nullable String username) {
      this.username = username;
    }

    public @Nullable String getPassword() {
      return password;
    }

    public void setPassword(@Nullable String password) {
      this.password = password;
    }

    public @Nullable String getApiKey() {
      return apiKey;
    }

    public void setApiKey(@Nullable String apiKey) {
      this.apiKey = apiKey;
    }

    public boolean isAllowCredentialsOverHttp() {
      return allowCredentialsOverHttp;
    }

    public void setAllowCredentialsOverHttp(boolean allowCredentialsOverHttp) {
      this.allowCredentialsOverHttp = allowCredentialsOverHttp;
    }

    public @Nullable Duration getConnectTimeout() {
      return connectTimeout;
    }

    public void setConnectTimeout(@Nullable Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
    }

    public @Nullable Duration getRequestTimeout() {
      return requestTimeout;
    }

    public void setRequestTimeout(@Nullable Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
    }

    public @Nullable DataSize getMaxBulkBytes() {
      return maxBulkBytes;
    }

    public void setMaxBulkBytes(@Nullable DataSize maxBulkBytes) {
      this.maxBulkBytes = maxBulkBytes;
    }
  }

  /** {@code outlast.queue.<name>.pulsar.*}: the shipped Apache Pulsar sink. */
  public static class PulsarProperties {
    /** The topic, e.g. persistent://shop/orders/placed. Required. */
    private @Nullable String topic;

    /**
     * The name of a PulsarClient bean; by default the application's one PulsarClient, else one made
     * from service-url.
     */
    private @Nullable String client;

    /** The broker's address, e.g. pulsar://broker:6650, when there is no PulsarClient bean. */
    private @Nullable String serviceUrl;

    /**
     * The name of a Pulsar Schema bean for the events; by default the events go as bytes, encoded
     * with the queue's codec.
     */
    private @Nullable String schema;

    /** What goes before the queue's producer id in the producer name (default outlast-). */
    private @Nullable String producerNamePrefix;

    /** How long a send may wait for the broker (default 5s). */
    private @Nullable Duration sendTimeout;

    /** The most events sent and not yet answered (default 1000). */
    private @Nullable Integer maxInFlight;

    /** Whether the client batches messages (default true). */
    private boolean batching = true;

    public @Nullable String getTopic() {
      return topic;
    }

    public void setTopic(@Nullable String topic) {
      this.topic = topic;
    }

    public @Nullable String getClient() {
      return client;
    }

    public void setClient(@Nullable String client) {
      this.client = client;
    }

    public @Nullable String getServiceUrl() {
      return serviceUrl;
    }

    public void setServiceUrl(@Nullable String serviceUrl) {
      this.serviceUrl = serviceUrl;
    }

    public @Nullable String getSchema() {
      return schema;
    }

    public void setSchema(@Nullable String schema) {
      this.schema = schema;
    }

    public @Nullable String getProducerNamePrefix() {
      return producerNamePrefix;
    }

    public void setProducerNamePrefix(@Nullable String producerNamePrefix) {
      this.producerNamePrefix = producerNamePrefix;
    }

    public @Nullable Duration getSendTimeout() {
      return sendTimeout;
    }

    public void setSendTimeout(@Nullable Duration sendTimeout) {
      this.sendTimeout = sendTimeout;
    }

    public @Nullable Integer getMaxInFlight() {
      return maxInFlight;
    }

    public void setMaxInFlight(@Nullable Integer maxInFlight) {
      this.maxInFlight = maxInFlight;
    }

    public boolean isBatching() {
      return batching;
    }

    public void setBatching(boolean batching) {
      this.batching = batching;
    }
  }

  /** {@code outlast.health.*}. */
  public static class HealthProperties {
    /**
     * The importance of components that have no property of their own: caches (dependent by
     * default), and guards and queues the application made as beans. By component name.
     */
    private Map<String, Importance> importance = new LinkedHashMap<>();

    public Map<String, Importance> getImportance() {
      return importance;
    }

    public void setImportance(Map<String, Importance> importance) {
      this.importance = importance;
    }
  }
}
