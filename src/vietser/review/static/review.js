// Keyboard labelling and rule-proposal drafts for the clip page.
// 1 / 2 / 3 pick calm / angry / panic, Enter saves and moves on, Escape leaves a text field.
// On the call page a click on a segment plays it and picks it for the correction form.
"use strict";

(function () {
  const reviewForm = document.getElementById("review-form");
  if (!reviewForm) {
    return;
  }
  const radios = Array.from(reviewForm.querySelectorAll('input[name="label"]'));
  const proposalForm = document.getElementById("proposal-form");
  const proposalLabel = document.getElementById("proposal-label");
  const conditions = document.getElementById("conditions");
  const prefill = JSON.parse(document.getElementById("proposal-prefill").textContent);
  const OPERATORS = [">=", "<=", ">", "<"];

  function isEditing(element) {
    if (!element || element === document.body) {
      return false;
    }
    if (element.tagName === "INPUT" && element.type === "radio") {
      return false;
    }
    return element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT", "BUTTON", "A", "AUDIO"].includes(element.tagName);
  }

  function input(attributes) {
    const element = document.createElement("input");
    Object.entries(attributes).forEach(([name, value]) => element.setAttribute(name, value));
    return element;
  }

  function conditionRow(index, condition) {
    const row = document.createElement("tr");
    const select = document.createElement("select");
    select.name = "op";
    select.setAttribute("aria-label", "operator");
    OPERATORS.forEach((op) => {
      const option = document.createElement("option");
      option.textContent = op;
      option.selected = op === condition.op;
      select.appendChild(option);
    });
    const cells = [
      input({ type: "checkbox", name: "include", value: String(index), checked: "", "aria-label": "use this condition" }),
      input({ type: "text", name: "feature", value: condition.feature, required: "", "aria-label": "feature" }),
      select,
      input({ type: "number", name: "value", step: "0.1", value: String(condition.value), required: "", "aria-label": "threshold in SD" }),
    ];
    cells.forEach((cell) => {
      const td = document.createElement("td");
      td.appendChild(cell);
      row.appendChild(td);
    });
    return row;
  }

  function draftProposal(label) {
    proposalLabel.value = label;
    conditions.replaceChildren(...(prefill[label] || []).map((condition, index) => conditionRow(index, condition)));
  }

  reviewForm.addEventListener("change", (event) => {
    if (event.target.name === "label") {
      draftProposal(event.target.value);
    }
  });
  proposalLabel.addEventListener("change", () => draftProposal(proposalLabel.value));
  proposalForm.addEventListener("submit", () => {
    proposalForm.elements.reviewer.value = reviewForm.elements.reviewer.value.trim();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    const target = event.target;
    if (isEditing(target)) {
      if (event.key === "Escape") {
        target.blur();
      }
      return;
    }
    const choice = ["1", "2", "3"].indexOf(event.key);
    if (choice >= 0 && radios[choice]) {
      event.preventDefault();
      radios[choice].checked = true;
      radios[choice].dispatchEvent(new Event("change", { bubbles: true }));
    } else if (event.key === "Enter") {
      event.preventDefault();
      reviewForm.requestSubmit();
    }
  });
})();

(function () {
  const form = document.getElementById("call-review-form");
  if (!form) {
    return;
  }
  const audio = document.getElementById("segment-audio");
  const clip = document.getElementById("segment-clip");
  const summary = document.getElementById("segment-summary");
  const save = document.getElementById("segment-save");
  const segments = Array.from(document.querySelectorAll("a.segment"));

  function select(segment, play) {
    segments.forEach((other) => other.classList.toggle("selected", other === segment));
    clip.value = segment.dataset.clip;
    summary.textContent = segment.dataset.summary;
    form.querySelectorAll('input[name="label"]').forEach((radio) => {
      radio.checked = false;
    });
    save.disabled = false;
    if (segment.dataset.audio) {
      audio.src = segment.dataset.audio;
      if (play) {
        // A browser that refuses to start playback leaves the player loaded, ready for its own play button.
        audio.play().catch(() => {});
      }
    }
  }

  segments.forEach((segment) =>
    segment.addEventListener("click", (event) => {
      event.preventDefault();
      select(segment, true);
    })
  );
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const initial = segments.find((segment) => segment.dataset.clip === wanted);
  if (initial) {
    select(initial, false);
  }
})();
