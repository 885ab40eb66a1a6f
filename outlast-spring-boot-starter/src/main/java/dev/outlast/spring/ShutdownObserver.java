package dev.outlast.spring;

/**
 * Told of each step of Outlast's shutdown, in order: "queue &lt;name&gt;", "outlast", "guards".
 * Package-private: the starter's tests declare one to check the order.
 */
interface ShutdownObserver {
  void closed(String what);
}
