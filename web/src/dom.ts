/**
 * Building DOM nodes without HTML strings. Text goes in as text nodes (or `textContent`), never
 * through innerHTML, so whatever an agent wrote is shown as written and can never become markup.
 */

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  /** Plain text content (set as textContent). */
  text?: string;
  title?: string;
  /** `data-*` attributes, for tests and event delegation. */
  data?: Record<string, string>;
  type?: string;
  disabled?: boolean;
  placeholder?: string;
  value?: string;
  href?: string;
  rows?: number;
  ariaLabel?: string;
  ariaLive?: 'polite' | 'assertive';
  onclick?: (event: MouseEvent) => void;
  onsubmit?: (event: SubmitEvent) => void;
  onkeydown?: (event: KeyboardEvent) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  for (const [key, value] of Object.entries(props.data ?? {})) node.dataset[key] = value;
  if (props.type !== undefined) node.setAttribute('type', props.type);
  if (props.disabled !== undefined) (node as HTMLButtonElement).disabled = props.disabled;
  if (props.placeholder !== undefined) node.setAttribute('placeholder', props.placeholder);
  if (props.value !== undefined) (node as HTMLInputElement).value = props.value;
  if (props.href !== undefined) node.setAttribute('href', props.href);
  if (props.rows !== undefined) node.setAttribute('rows', String(props.rows));
  if (props.ariaLabel !== undefined) node.setAttribute('aria-label', props.ariaLabel);
  if (props.ariaLive !== undefined) node.setAttribute('aria-live', props.ariaLive);
  if (props.onclick) node.addEventListener('click', props.onclick as EventListener);
  if (props.onsubmit) node.addEventListener('submit', props.onsubmit as EventListener);
  if (props.onkeydown) node.addEventListener('keydown', props.onkeydown as EventListener);
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child,
    );
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}
