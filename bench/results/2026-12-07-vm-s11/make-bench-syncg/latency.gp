set terminal pngcairo size 1200,700 font 'Sans,11'
set output 'latency.png'

set title "End-to-end latency at 50% of the measured maximum rate (1 KiB): loadgen send -> readable from Kafka"
set datafile separator ","
set logscale y
set grid
set xlabel "percentile"
set ylabel "latency (ms)"
nines(p) = p >= 100 ? 5 : -log10(1 - p/100.0)
set xtics ("0" 0, "50" nines(50), "90" nines(90), "99" nines(99), "99.9" nines(99.9), "99.99" nines(99.99), "max" 5)
set key top left
plot "latency-agent-cdf.csv" using (nines($1)):($2/1000) every ::1 with linespoints lw 2 pt 7 ps 0.6 title "sluice agent (send -> consumer receipt)", \
     "latency-ceiling.csv" using (nines($1)):($2/1000) every ::1 with points pt 5 ps 1.5 title "producer-perf at 50% of its maximum (send -> ack, whole ms)"
