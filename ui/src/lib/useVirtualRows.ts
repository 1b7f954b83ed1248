// The scroll side of a virtualized list with a fixed row height, shared by the Orders table and the
// failed-jobs list: it follows the scroller's position (once per animation frame, not per scroll
// event) and size, says which rows `[first, last)` to render, and scrolls a row into view for the
// keyboard cursor. The rows themselves come from a KeysetFeed (lib/feed.ts).
import { useCallback, useEffect, useRef, useState } from "react";
import { windowRange } from "./feed";

export interface VirtualRows {
  /** The callback ref for the scrolling element (it may mount later than the screen). */
  scrollerRef: (el: HTMLDivElement | null) => void;
  onScroll: () => void;
  first: number;
  last: number;
  /** Rows that fit in the viewport, less one (PageUp/PageDown's step). */
  pageRows: number;
  /** Scrolls the least distance that shows row `index` whole. */
  scrollToRow: (index: number) => void;
  /** Back to the top (a new filter). */
  reset: () => void;
}

export function useVirtualRows(count: number, rowHeight: number, overscan = 8): VirtualRows {
  const el = useRef<HTMLDivElement | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  const frame = useRef(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  const scrollerRef = useCallback((node: HTMLDivElement | null) => {
    observer.current?.disconnect();
    observer.current = null;
    el.current = node;
    if (!node) return;
    setViewport(node.clientHeight);
    setScrollTop(node.scrollTop);
    observer.current = new ResizeObserver(() => setViewport(node.clientHeight));
    observer.current.observe(node);
  }, []);
  useEffect(() => () => {
    observer.current?.disconnect();
    cancelAnimationFrame(frame.current);
  }, []);

  // One state update per frame however many scroll events the wheel fires.
  const onScroll = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setScrollTop(el.current?.scrollTop ?? 0));
  }, []);

  const scrollToRow = useCallback(
    (index: number) => {
      const node = el.current;
      if (!node) return;
      const top = index * rowHeight;
      if (top < node.scrollTop) node.scrollTop = top;
      else if (top + rowHeight > node.scrollTop + node.clientHeight) node.scrollTop = top + rowHeight - node.clientHeight;
    },
    [rowHeight],
  );

  const reset = useCallback(() => {
    setScrollTop(0);
    if (el.current) el.current.scrollTop = 0;
  }, []);

  const { first, last } = windowRange(scrollTop, viewport, rowHeight, count, overscan);
  return { scrollerRef, onScroll, first, last, pageRows: Math.max(1, Math.floor(viewport / rowHeight) - 1), scrollToRow, reset };
}
