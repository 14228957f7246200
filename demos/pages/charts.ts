// The pages' live charts (uPlot): one chart per box, series drawn as lines (baselines dashed).
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css';
import { $, el } from './common.js';

export const COLOURS = ['#2457c5', '#e8590c', '#2b8a3e', '#862e9c', '#868e96'];
/** A held-back metric: dots at the evaluations. */
export const DOTS: Partial<uPlot.Series> = { points: { show: true, size: 7 } };
/** A baseline: a thin dashed grey line. */
export const DASHED: Partial<uPlot.Series> = { dash: [6, 4], width: 1.5, stroke: '#868e96' };

let styled = false;

/** A chart in the box `id` (emptied first); accuracies stay on [0, 1], other scales follow their data. */
export function chart(id: string, title: string, series: uPlot.Series[], yLabel: string): uPlot {
  if (!styled) document.head.append(el('style', {}, uplotCss));
  styled = true;
  const box = $(id);
  box.replaceChildren();
  const width = Math.max(280, box.clientWidth || 380);
  return new uPlot(
    {
      title,
      width,
      height: 210,
      series: [{ label: 'step' }, ...series],
      scales: { x: { time: false }, ...(yLabel === 'accuracy' ? { y: { range: [0, 1] as uPlot.Range.MinMax } } : {}) },
      axes: [{ label: 'step' }, { label: yLabel, size: 52 }],
      legend: { live: false },
    },
    [[], ...series.map(() => [])] as uPlot.AlignedData,
    box,
  );
}

export function line(label: string, i: number, extra: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, ...extra };
}
