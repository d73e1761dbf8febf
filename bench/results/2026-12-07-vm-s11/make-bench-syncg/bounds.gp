set terminal pngcairo size 1200,700 font 'Sans,11'
set output 'bounds.png'

set termoption noenhanced
set title "Micro-benchmarks and the DPDK dataplane: records/s beside the bound measured in the same run (label: rate / bound)"
set style fill solid 0.6 border -1
set boxwidth 0.35
set logscale y
set yrange [10000:*]
set ylabel "records/s (log)"
set grid ytics
set xtics rotate by -30
set key top right
set offsets 0.5, 0.5, 0, 0
set bmargin 8
plot "bounds.dat" using ($1-0.18):3:xtic(2) with boxes lc rgb "#3b7dd8" title "measured", \
     "" using ($1+0.18):4 with boxes lc rgb "#aaaaaa" title "bound (memcpy, write+fdatasync, or the kernel path)", \
     "" using 1:(column(3) == column(3) ? $3 * 1.6 : 20000):5 with labels notitle
