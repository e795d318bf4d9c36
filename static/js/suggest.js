// Suggestions for a field that lists them in a <datalist> (Contact: the shop's recent
// contacts), as a list the keyboard drives: type a few letters, Down to the one meant,
// Enter takes it (and the next Enter records the visit); Escape closes the list.
//
// Without this script the <datalist> itself offers them. Browsers draw a datalist
// each their own way, match typed letters differently, and Chromium's popup cannot be
// driven from a test at all; this list behaves the same everywhere and is what the
// keystroke count in the README was measured on. It is the WAI-ARIA combobox with a
// listbox popup (list autocomplete, manual selection): the field stays focused,
// aria-activedescendant names the option a screen reader announces.

const SHOWN = 8;

// An address matches where one of its parts begins: "jans" finds bram.jansen@…,
// and "a" is not every address with an "a" in it.
function matches(value, typed) {
  const text = value.toLowerCase();
  if (text.startsWith(typed)) return true;
  for (let at = 0; at < text.length; at += 1) {
    if (".@_+-".includes(text[at]) && text.startsWith(typed, at + 1)) return true;
  }
  return false;
}

function setUp(input) {
  if (input.dataset.suggestionsFor) return;
  const source = input.getAttribute("list");
  input.dataset.suggestionsFor = source;
  // One list on screen: the browser's own would open over this one.
  input.removeAttribute("list");

  const list = document.createElement("ul");
  list.id = `${input.id}-suggestions`;
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", input.dataset.suggestions || "Suggestions");
  list.hidden = true;
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  // Over what follows the field, as a browser's own list would be: pushed down
  // instead, the next field would jump away from a click as the list closes.
  const field = input.closest(".field") || input.parentElement;
  field.classList.add("suggesting");
  input.after(list);
  field.append(status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  let active = -1;

  function options() {
    return [...list.querySelectorAll('[role="option"]')];
  }

  function found() {
    // Read each time: htmx replaces the datalist when the Shop changes.
    const datalist = document.getElementById(source);
    const values = datalist ? [...datalist.options].map((option) => option.value) : [];
    const typed = input.value.trim().toLowerCase();
    return values.filter((value) => matches(value, typed)).slice(0, SHOWN);
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    status.textContent = "";
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function open(values) {
    if (!values.length || (values.length === 1 && values[0] === input.value.trim())) {
      close();
      return;
    }
    list.replaceChildren(
      ...values.map((value, index) => {
        const option = document.createElement("li");
        option.id = `${list.id}-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = value;
        return option;
      }),
    );
    list.style.top = `${input.offsetTop + input.offsetHeight}px`;
    list.hidden = false;
    active = -1;
    input.setAttribute("aria-expanded", "true");
    input.removeAttribute("aria-activedescendant");
    // The words come from the page (base.html's data-msg-*), in the manager's language.
    const page = document.body.dataset;
    status.textContent =
      values.length === 1
        ? page.msgSuggestion || "1 suggestion: Down arrow to choose."
        : (page.msgSuggestions || "{count} suggestions: Down arrow to choose.").replace(
            "{count}",
            String(values.length),
          );
  }

  function highlight(index) {
    const all = options();
    all.forEach((option, at) => option.setAttribute("aria-selected", String(at === index)));
    active = index;
    input.setAttribute("aria-activedescendant", all[index].id);
    all[index].scrollIntoView({ block: "nearest" });
  }

  function take(option) {
    input.value = option.textContent;
    close();
  }

  input.addEventListener("input", () => {
    if (input.value.trim()) open(found());
    else close();
  });

  input.addEventListener("keydown", (event) => {
    const all = options();
    const shown = !list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown) {
        open(found());
        if (list.hidden) return;
      }
      const count = options().length;
      const step = event.key === "ArrowDown" ? 1 : -1;
      const from = active < 0 ? (step > 0 ? -1 : count) : active;
      highlight((from + step + count) % count);
    } else if (event.key === "Enter" && shown && active >= 0) {
      // Takes the contact; the visit is recorded by the next Enter, once it is seen.
      event.preventDefault();
      take(all[active]);
    } else if (event.key === "Escape" && shown) {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      close();
    }
  });

  input.addEventListener("blur", close);
  // A click takes an option without the field losing the focus first.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  list.addEventListener("click", (event) => {
    const option = event.target.closest('[role="option"]');
    if (option) take(option);
  });
}

function setUpAll(root) {
  root.querySelectorAll("input[list][data-suggestions]").forEach(setUp);
}

// The page's own fields now, and those htmx brings (a fresh create form after each
// visit) as they are swapped in, before anything is typed into them.
setUpAll(document);
document.addEventListener("htmx:after:swap", () => setUpAll(document));
document.addEventListener("focusin", (event) => {
  if (event.target.matches?.("input[list][data-suggestions]")) setUp(event.target);
});
