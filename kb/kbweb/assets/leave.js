// leave.js: a guard against leaving a screen with unsaved edits, by a
// link, the back button, a reload or closing the tab.

let unsaved = () => false;

/** guardLeave sets what says whether the current screen has unsaved edits (reset on every route). */
export function guardLeave(hasUnsaved) {
  unsaved = hasUnsaved;
}

/** mayLeave asks, when there are unsaved edits, whether to drop them; true when leaving is fine. */
export function mayLeave() {
  return !unsaved() || window.confirm('有未保存的修改，确定离开并放弃它们吗？(Leave and lose your unsaved edits?)');
}

/** hasUnsaved reports whether the current screen has unsaved edits. */
export function hasUnsaved() {
  return unsaved();
}
