package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CpuMeterTest {
  @Test
  void measuresTheCpuTimeThisJvmSpent_perUnit() throws Exception {
    CpuMeter meter =
        new CpuMeter(new long[] {ProcessHandle.current().pid()}, new String[] {"this JVM"});
    assertThat(meter).hasToString("not measured");
    meter.start();
    long until = System.nanoTime() + 400_000_000L;
    long spin = 0;
    while (System.nanoTime() < until) {
      spin++; // busy for 0.4 s of wall time, most of it on a core
    }
    meter.stop(2);
    Matcher m = Pattern.compile("this JVM (\\d+\\.\\d\\d) us CPU each").matcher(meter.toString());
    assertThat(m.matches()).as(meter.toString()).isTrue();
    // 0.4 s over 2 units is 200,000 us each; a loaded machine may give the loop less of a core.
    assertThat(Double.parseDouble(m.group(1))).isBetween(50_000.0, 2_000_000.0);
    assertThat(spin).isPositive();
  }
}
