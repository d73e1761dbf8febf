set terminal pngcairo size 1200,700 font 'Sans,11'
set output 'throughput.png'

set title "1 KiB records/s into Kafka (median of 15 runs): the agent beside the producer-perf ceiling"
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set ylabel "thousand records/s"
set grid ytics
set key top right
plot "throughput.dat" using 1:($3/1000):xtic(2) with boxes lc rgb "#3b7dd8" title "records/s", \
     "" using 1:($3/1000):4 with labels offset 0,1 notitle, \
     703335.6 / 1000 with lines lw 2 dt 2 lc rgb "#d83b3b" title "goal: 90% of the ceiling"
