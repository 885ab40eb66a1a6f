package dev.outlast.core.health;

/**
 * How much the service depends on a component, as the first seed ranks what to monitor: a core
 * component down takes the service's own status down; a dependent one only degrades it.
 */
public enum Importance {
  /** The service cannot do its job without it (its database, its ledger). */
  CORE,
  /** The service keeps its promises without it for a while (a cache, a spilled sink, a replica). */
  DEPENDENT
}
