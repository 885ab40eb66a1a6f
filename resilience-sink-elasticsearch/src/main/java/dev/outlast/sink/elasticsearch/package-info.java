/**
 * A spill-queue sink for Elasticsearch (and OpenSearch) over the {@code _bulk} REST API. Entry
 * point: {@link dev.outlast.sink.elasticsearch.ElasticsearchSink}.
 */
@NullMarked
package dev.outlast.sink.elasticsearch;

import org.jspecify.annotations.NullMarked;
