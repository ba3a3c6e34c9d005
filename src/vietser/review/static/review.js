// Keyboard labelling and rule-proposal drafts for the clip page.
// 1 / 2 / 3 pick calm / angry / panic, Enter saves and moves on, Escape leaves a text field.
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
