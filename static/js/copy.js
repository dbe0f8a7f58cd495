// "Copy link": puts the address of the input a button names on the
// clipboard and says so. Shown only where the browser lets the page write
// the clipboard (a secure context); elsewhere the address stays selectable.
export function bind(button) {
  if (button.dataset.bound || !navigator.clipboard || !window.isSecureContext) return;
  button.dataset.bound = "1";
  const input = document.getElementById(button.dataset.copy);
  const state = document.querySelector(`[data-copy-state="${button.dataset.copy}"]`);
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      state.textContent = "Copied.";
    } catch {
      input.select();
      state.textContent = "Select the address and copy it.";
    }
  });
}
