set terminal pngcairo size 1200,700 font 'Sans,11'
set output 'sweeps.png'

set multiplot layout 1,3 title "Sweeps: agent kernel path -> KafkaSink -> cluster (median records/s)"
set logscale x
set yrange [0:*]
set grid
set ylabel "thousand records/s"
set key top right
set offsets 0, 0, graph 0.2, 0
set title "record size (4 conns, batch 20)"
set xlabel "bytes per record"
plot "sweep-size-agent.dat" using 1:($2/1000) with linespoints lw 2 pt 7 title "agent", "sweep-size-ceiling.dat" using 1:($2/1000) with linespoints lw 2 pt 5 dt 2 title "producer-perf ceiling"
set title "connections (1 KiB, batch 20)"
set xlabel "TCP connections"
plot "sweep-conns-agent.dat" using 1:($2/1000) with linespoints lw 2 pt 7 title "agent", 653.003 with lines lw 2 dt 2 lc rgb "#1b9e77" title "producer-perf ceiling, 1 KiB"
set title "flumeBatchSize (1 KiB, 4 conns)"
set xlabel "flumeBatchSize"
plot "sweep-batch-agent.dat" using 1:($2/1000) with linespoints lw 2 pt 7 title "agent", 653.003 with lines lw 2 dt 2 lc rgb "#1b9e77" title "producer-perf ceiling, 1 KiB"
unset multiplot
