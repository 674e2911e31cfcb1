/**
 * Camera and microphone: ask for both, fall back to audio only, then to receive only,
 * so a clinician with a broken webcam can still talk.
 * @module devices
 */

/**
 * @returns {Promise<{stream: MediaStream, missing: string[]}>}
 */
export async function openMedia() {
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25 } };
  const attempts = [
    { constraints: { audio: true, video }, missing: [] },
    { constraints: { audio: true, video: false }, missing: ["video"] },
    { constraints: { audio: false, video }, missing: ["audio"] },
  ];
  for (const { constraints, missing } of attempts) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), missing };
    } catch (error) {
      console.warn("getUserMedia failed", constraints, error);
    }
  }
  return { stream: new MediaStream(), missing: ["audio", "video"] };
}
