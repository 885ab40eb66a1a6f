package dev.outlast.spring;

import dev.outlast.core.spi.Codec;
import dev.outlast.sink.pulsar.PulsarSink;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.common.schema.SchemaInfo;
import org.springframework.beans.factory.ListableBeanFactory;

/** The Pulsar sink of a queue. Loaded only when its module is on the class path. */
final class PulsarSinks {
  private PulsarSinks() {}

  @SuppressWarnings({"unchecked", "rawtypes"}) // the schema is of the queue's event type
  static PulsarSink<Object> build(
      String queue,
      OutlastProperties.PulsarProperties p,
      Codec<?> codec,
      ListableBeanFactory beans,
      List<AutoCloseable> owned) {
    String at = "outlast.queue." + queue + ".pulsar.";
    String topic = p.getTopic();
    if (topic == null) {
      throw new OutlastConfigurationException(
          at + "topic is not set", "set it, e.g. persistent://shop/orders/placed");
    }
    PulsarClient client = client(at, p, beans, owned);
    String schemaBean = p.getSchema();
    Schema<Object> schema =
        schemaBean != null
            ? Guards.bean(beans, schemaBean, Schema.class, at + "schema")
            : new CodecSchema<>((Codec<Object>) codec);
    try {
      PulsarSink.Builder<Object> b = PulsarSink.builder(client, topic, schema);
      String prefix = p.getProducerNamePrefix();
      if (prefix != null) {
        b.producerNamePrefix(prefix);
      }
      Duration send = p.getSendTimeout();
      if (send != null) {
        b.sendTimeout(send);
      }
      Integer inFlight = p.getMaxInFlight();
      if (inFlight != null) {
        b.maxInFlight(inFlight);
      }
      if (!p.isBatching()) {
        b.withoutBatching();
      }
      PulsarSink<Object> sink = b.build();
      owned.add(0, sink); // closed before the client
      return sink;
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new OutlastConfigurationException(
          "the Pulsar sink of outlast.queue." + queue + " cannot be built: " + e.getMessage(),
          "change " + at + "* as the message says",
          e);
    }
  }

  private static PulsarClient client(
      String at,
      OutlastProperties.PulsarProperties p,
      ListableBeanFactory beans,
      List<AutoCloseable> owned) {
    String named = p.getClient();
    if (named != null) {
      return Guards.bean(beans, named, PulsarClient.class, at + "client");
    }
    String url = p.getServiceUrl();
    if (url == null) {
      String[] all = beans.getBeanNamesForType(PulsarClient.class, false, false);
      if (all.length == 1) {
        return beans.getBean(all[0], PulsarClient.class);
      }
      throw new OutlastConfigurationException(
          at
              + "service-url is not set, and there "
              + (all.length == 0
                  ? "is no PulsarClient bean"
                  : "are several: " + Arrays.toString(all)),
          "set " + at + "service-url (pulsar://broker:6650), or " + at + "client to a bean");
    }
    try {
      PulsarClient c = PulsarClient.builder().serviceUrl(url).build();
      owned.add(c);
      return c;
    } catch (PulsarClientException | IllegalArgumentException e) {
      throw new OutlastConfigurationException(
          at + "service-url '" + url + "' cannot be used: " + e.getMessage(),
          "write it as pulsar://host:6650 or pulsar+ssl://host:6651",
          e);
    }
  }

  /** Events as bytes, encoded by the queue's own codec: no schema needed on the broker. */
  private static final class CodecSchema<E> implements Schema<E> {
    private final Codec<E> codec;

    CodecSchema(Codec<E> codec) {
      this.codec = codec;
    }

    @Override
    public byte[] encode(E message) {
      return codec.encode(message);
    }

    @Override
    public E decode(byte[] bytes) {
      return codec.decode(bytes);
    }

    @Override
    public SchemaInfo getSchemaInfo() {
      return Schema.BYTES.getSchemaInfo();
    }

    @Override
    @SuppressWarnings("MethodCanBeStatic")
    public Schema<E> clone() {
      return this; // immutable
    }

    @Override
    public String toString() {
      return "bytes by " + codec;
    }
  }
}
