// trading-planner on the Arduino Uno Q's 8x13 LED matrix and RGB LEDs.
//
// The service (src/board/matrix.rs) calls one function through arduino-router:
//
//   tp_show(mode, value, flags)
//     mode 0  idle          value unused
//     mode 1  planning      value = columns of the progress bar lit, 0-13
//     mode 2  plan ready    value = the plan's number of steps
//     flags   bit 0 an upstream (a Python service) is down, bit 1 live trading
//
// It calls only when the picture changes and never more often than every 250 ms, so the
// router's buffers never fill; the sketch draws the picture itself from these three numbers.
// The handler runs with provide_safe, in loop()'s context, because the matrix driver is not
// meant to be called from the bridge's thread. It only stores the numbers; loop() draws when
// they change.
//
// Flash it once with the Arduino App Lab or arduino-cli (board arduino:zephyr:unoq); the
// library Arduino_RouterBridge comes with that platform.

#include <Arduino_RouterBridge.h>
#include <Arduino_LED_Matrix.h>

Arduino_LED_Matrix matrix;

const int ROWS = 8;
const int COLUMNS = 13;
// 3 bits of brightness per pixel: 0 off, 7 full.
const uint8_t FULL = 7;
const uint8_t DIM = 2;

// RGB LED 3 (live trading) and 4 (an upstream down); active low.
const int LED3_RED = LED_BUILTIN;
const int LED3_GREEN = LED_BUILTIN + 1;
const int LED3_BLUE = LED_BUILTIN + 2;
const int LED4_RED = LED_BUILTIN + 3;
const int LED4_GREEN = LED_BUILTIN + 4;
const int LED4_BLUE = LED_BUILTIN + 5;

// Digits 3 wide and 5 high, one row per entry, bit 2 the leftmost column.
const uint8_t DIGITS[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 3, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

volatile int wantedMode = 0;
volatile int wantedValue = 0;
volatile int wantedFlags = 0;
volatile bool changed = true;

uint8_t frame[ROWS * COLUMNS];

bool tp_show(int mode, int value, int flags) {
    wantedMode = mode;
    wantedValue = value;
    wantedFlags = flags;
    changed = true;
    return true;
}

void pixel(int row, int column, uint8_t level) {
    if (row >= 0 && row < ROWS && column >= 0 && column < COLUMNS) {
        frame[row * COLUMNS + column] = level;
    }
}

void digit(int d, int left, int top) {
    for (int row = 0; row < 5; row++) {
        for (int column = 0; column < 3; column++) {
            if (DIGITS[d][row] & (4 >> column)) {
                pixel(top + row, left + column, FULL);
            }
        }
    }
}

// Up to three digits, centred; above 999 shows 999.
void number(int n) {
    if (n < 0) n = 0;
    if (n > 999) n = 999;
    int count = n >= 100 ? 3 : n >= 10 ? 2 : 1;
    int width = count * 4 - 1;
    int left = (COLUMNS - width) / 2;
    int divisor = count == 3 ? 100 : count == 2 ? 10 : 1;
    for (int i = 0; i < count; i++) {
        digit((n / divisor) % 10, left + i * 4, 1);
        divisor /= 10;
    }
}

void rgb(int red, int green, int blue, bool r, bool g, bool b) {
    digitalWrite(red, r ? LOW : HIGH);
    digitalWrite(green, g ? LOW : HIGH);
    digitalWrite(blue, b ? LOW : HIGH);
}

void draw(int mode, int value, int flags) {
    memset(frame, 0, sizeof frame);
    if (mode == 1) {
        // Planning: a dim track on rows 3-4, lit up to the progress.
        if (value > COLUMNS) value = COLUMNS;
        for (int column = 0; column < COLUMNS; column++) {
            uint8_t level = column < value ? FULL : DIM;
            pixel(3, column, level);
            pixel(4, column, level);
        }
    } else if (mode == 2) {
        // A plan is ready: its number of steps.
        number(value);
    } else {
        // Idle: one dim dot in the middle, so a dark matrix means the sketch is not running.
        pixel(3, COLUMNS / 2, DIM);
    }
    bool upstreamDown = flags & 1;
    bool live = flags & 2;
    // Bottom row corners repeat the RGB LEDs on the matrix: left live, right upstream down.
    if (live) pixel(7, 0, FULL);
    if (upstreamDown) pixel(7, COLUMNS - 1, FULL);
    matrix.draw(frame);
    rgb(LED3_RED, LED3_GREEN, LED3_BLUE, live, false, false);
    rgb(LED4_RED, LED4_GREEN, LED4_BLUE, upstreamDown, upstreamDown, false);
}

void setup() {
    matrix.begin();
    matrix.setGrayscaleBits(3);
    matrix.clear();
    for (int pin = LED_BUILTIN; pin <= LED_BUILTIN + 5; pin++) {
        pinMode(pin, OUTPUT);
        digitalWrite(pin, HIGH);
    }
    Bridge.begin();
    Bridge.provide_safe("tp_show", tp_show);
}

void loop() {
    if (changed) {
        changed = false;
        draw(wantedMode, wantedValue, wantedFlags);
    }
    delay(20);
}
