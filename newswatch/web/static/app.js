// Label buttons update in place (the forms still work without JavaScript), and a running retrain is polled.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-label]");
  if (!button) return;
  event.preventDefault();
  const form = button.form;
  const status = form.querySelector(".label-status");
  const body = new URLSearchParams({ topic: form.elements.topic.value, value: button.dataset.label });
  status.textContent = "saving…";
  try {
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body,
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    status.textContent = answer.text;
    status.dataset.value = answer.value ? "yes" : "no";
    for (const other of form.querySelectorAll("button[data-label]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
  } catch (error) {
    status.textContent = "not saved: " + error.message;
    status.dataset.value = "error";
  }
});

const retrain = document.querySelector('[data-retrain-state="running"]');
if (retrain) {
  const poll = async () => {
    const response = await fetch("/api/retrain", { credentials: "same-origin" });
    const answer = await response.json();
    if (answer.state === "running") setTimeout(poll, 2000);
    else window.location.reload();
  };
  setTimeout(poll, 2000);
}
