/** Attributes of {@link h}: strings set as attributes, functions under `on…` as event listeners. */
type Attributes = Record<string, string | ((event: Event) => void) | undefined>;

/** What {@link h} accepts as children: nodes, text (escaped, as text nodes always are), or nothing. */
type Child = Node | string | null | undefined | false;

/**
 * Makes an element, the one way this page builds DOM: text goes in as text nodes, never as
 * HTML, so event data and metadata cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** Replaces what `parent` holds with `children`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** A form of class `className` whose submit runs `onSubmit` in place of the browser's page load. */
export function form(className: string, onSubmit: () => void, ...children: Child[]): HTMLFormElement {
  const submit = (event: Event) => {
    event.preventDefault();
    onSubmit();
  };
  return h("form", { class: className, onsubmit: submit }, ...children);
}
